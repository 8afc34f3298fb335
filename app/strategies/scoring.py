"""The composite score (PRODUCT.md section 5), 0-100, and its breakdown.

    score = 0.30 x performance + 0.25 x risk + 0.20 x consistency + 0.15 x efficiency
            + 0.10 x community

Every component is 0-100 (the sum of its sub-scores, floored at 0 and capped at 100); every
sub-score is ``points x clamp(ratio, 0, 1)``. A sub-score without data scores 0 and says why.

performance (100)
  * annual return      50 x clamp(annual return / 50 %)
  * profit factor      30 x clamp(PF / 3.0)          ("no losses" with wins -> 30)
  * beating benchmark  20 x clamp((annual return - SPY annual return) / 20 pp)
                       SPY buy-and-hold over the same window; when SPY has no bars on the
                       platform the sub-score is 0 and the breakdown says so.
risk (100)
  * Sharpe             50 x clamp(Sharpe / 3.0)
  * max drawdown       30 when |DD| <= 10 %, 0 when |DD| >= 50 %, linear between:
                       30 x clamp((50 % - |DD|) / 40 %)
  * recovery factor    20 x clamp((annual return / |DD|) / 5.0)  (no drawdown and a positive
                       return -> 20)
consistency (100)
  * win rate           60 x clamp(win rate / 70 %)
  * stability          40 x clamp((2.0 - CV) / 1.5) with CV = stdev / mean of the trades'
                       returns (%), i.e. 40 below 0.5, 0 above 2.0; needs >= 10 trades and a
                       positive mean trade return
efficiency (100)
  * avg win / avg loss 50 x clamp(ratio / 3.0)       ("no losses" with wins -> 50)
  * trade frequency    30 for 1-5 trades a week; below 1: 30 x rate; above 5:
                       30 x clamp((10 - rate) / 5)  (0 at 10 a week); weeks = sessions / 5
  * cost drag          20 - (commissions + slippage) / gross profit x 100, floored at 0
                       (gross profit = sum of the winning trades' P&L; none -> 0)
community (100)
  * clones             50 x clamp(clones / 10)
  * rating             40 x average stars / 5       (no ratings -> 0)
  * unique viewers     10 x clamp(viewers / 100)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.paper import metrics as m

WEIGHTS = {"performance": 0.30, "risk": 0.25, "consistency": 0.20, "efficiency": 0.15, "community": 0.10}
MIN_TRADES = 30  # to be ranked
ROOKIE_DAYS = 90  # younger forward tracking -> rookies only
MIN_STABILITY_TRADES = 10
FORMULA = ("score = 0.30 × performance + 0.25 × risk + 0.20 × consistency + 0.15 × efficiency "
           "+ 0.10 × community")


@dataclass
class Inputs:
    equity: list[float] | np.ndarray  # daily equity inside the window (base point first)
    pnls: list[float] | np.ndarray  # closed trades inside the window (net P&L)
    pnl_pcts: list[float] | np.ndarray  # the same trades' returns (fractions)
    sessions: int  # trading days in the window
    benchmark: list[float] | np.ndarray | None = None  # SPY closes over the same points (None: no SPY)
    costs: float = 0.0  # commissions + slippage inside the window
    clones: int = 0
    average_rating: float | None = None
    ratings: int = 0
    viewers: int = 0


def clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return float(min(max(x, lo), hi))


def _sub(points: float, ratio: float | None, value, formula: str, why: str | None = None) -> dict:
    if ratio is None:
        return {"points": 0.0, "max": points, "value": value, "formula": formula, "why": why or "no data"}
    return {"points": points * clamp(ratio), "max": points, "value": value, "formula": formula,
            "why": why}


def _component(subs: dict[str, dict]) -> dict:
    total = clamp(sum(s["points"] for s in subs.values()), 0.0, 100.0)
    return {"score": total, "subs": subs}


def compute(inp: Inputs) -> dict:
    """The score and its full breakdown (JSON-ready)."""
    eq = np.asarray(inp.equity, dtype=float)
    pnls = np.asarray(inp.pnls, dtype=float)
    pcts = np.asarray(inp.pnl_pcts, dtype=float)
    ann = m.annualised_return(eq)
    dd_obj = m.max_drawdown(eq)
    dd = abs(dd_obj.max_drawdown) if dd_obj else None
    rets = m.daily_returns(eq)
    sharpe = m.sharpe(rets)
    pf = m.profit_factor(pnls)
    wr = m.win_rate(pnls)
    wl = m.win_loss_ratio(pnls)
    n = int(pnls.size)

    # ---- performance
    perf = {}
    perf["annual_return"] = _sub(50, None if ann is None else ann / 0.50, ann, "50 × clamp(annual return / 50 %)",
                                 None if ann is not None else "fewer than 2 daily equity points")
    if pf == m.NO_LOSSES:
        perf["profit_factor"] = _sub(30, 1.0, pf, "30 × clamp(profit factor / 3.0)", "no losses: full points")
    else:
        perf["profit_factor"] = _sub(30, None if pf is None else pf / 3.0, pf, "30 × clamp(profit factor / 3.0)",
                                     None if pf is not None else "no winning or losing trades")
    bench_ann = m.annualised_return(inp.benchmark) if inp.benchmark is not None else None
    if inp.benchmark is None:
        perf["benchmark"] = _sub(20, None, None, "20 × clamp((annual return − SPY annual return) / 20 pp)",
                                 "SPY has no daily bars on the platform: benchmark not scored")
    elif ann is None or bench_ann is None:
        perf["benchmark"] = _sub(20, None, None, "20 × clamp((annual return − SPY annual return) / 20 pp)",
                                 "fewer than 2 daily points in the window")
    else:
        excess = ann - bench_ann
        perf["benchmark"] = _sub(20, excess / 0.20, excess, "20 × clamp((annual return − SPY annual return) / 20 pp)")
        perf["benchmark"]["benchmark_return"] = bench_ann

    # ---- risk
    risk = {}
    risk["sharpe"] = _sub(50, None if sharpe is None else sharpe / 3.0, sharpe, "50 × clamp(Sharpe / 3.0)",
                          None if sharpe is not None else "fewer than 2 daily returns or no variation")
    risk["max_drawdown"] = _sub(30, None if dd is None else (0.50 - dd) / 0.40, None if dd is None else -dd,
                                "30 × clamp((50 % − |max DD|) / 40 %)",
                                None if dd is not None else "fewer than 2 daily equity points")
    rf_formula = "20 × clamp((annual return / |max DD|) / 5.0)"
    if ann is None or dd is None:
        risk["recovery"] = _sub(20, None, None, rf_formula, "no annual return or drawdown")
    elif dd == 0:
        risk["recovery"] = _sub(20, 1.0 if ann > 0 else 0.0, None, rf_formula,
                                "no drawdown" + (": full points" if ann > 0 else " and no gain"))
    else:
        rf = ann / dd
        risk["recovery"] = _sub(20, rf / 5.0, rf, rf_formula)

    # ---- consistency
    cons = {}
    cons["win_rate"] = _sub(60, None if wr is None else wr / 0.70, wr, "60 × clamp(win rate / 70 %)",
                            None if wr is not None else "no closed trades")
    st_formula = "40 × clamp((2.0 − CV) / 1.5), CV = stdev / mean of trade returns"
    if n < MIN_STABILITY_TRADES:
        cons["stability"] = _sub(40, None, None, st_formula,
                                 f"needs ≥ {MIN_STABILITY_TRADES} trades (has {n})")
    else:
        mean = float(pcts.mean())
        if mean <= 0:
            cons["stability"] = _sub(40, None, None, st_formula, "average trade return is not positive")
        else:
            cv = float(pcts.std(ddof=1) / mean)
            cons["stability"] = _sub(40, (2.0 - cv) / 1.5, cv, st_formula)

    # ---- efficiency
    eff = {}
    avg_loss = m.average_loss(pnls)
    if wl is None and n and avg_loss is None and (pnls > 0).any():
        eff["win_loss"] = _sub(50, 1.0, m.NO_LOSSES, "50 × clamp(avg win / |avg loss| / 3.0)", "no losses: full points")
    else:
        eff["win_loss"] = _sub(50, None if wl is None else wl / 3.0, wl, "50 × clamp(avg win / |avg loss| / 3.0)",
                               None if wl is not None else "needs both winning and losing trades")
    weeks = inp.sessions / 5.0
    fq_formula = "30 for 1–5 trades/week; 30 × rate below 1; 30 × clamp((10 − rate) / 5) above 5"
    if weeks <= 0:
        eff["frequency"] = _sub(30, None, None, fq_formula, "empty window")
    else:
        rate = n / weeks
        ratio = rate if rate < 1 else (1.0 if rate <= 5 else (10 - rate) / 5)
        eff["frequency"] = _sub(30, ratio, rate, fq_formula)
    gross = float(pnls[pnls > 0].sum()) if n else 0.0
    cd_formula = "20 − (commissions + slippage) / gross profit × 100, floored at 0"
    if gross <= 0:
        eff["cost_drag"] = _sub(20, None, None, cd_formula, "no gross profit in the window")
    else:
        drag = inp.costs / gross * 100
        eff["cost_drag"] = _sub(20, (20 - drag) / 20, drag, cd_formula)

    # ---- community
    com = {}
    com["clones"] = _sub(50, inp.clones / 10, inp.clones, "50 × clamp(clones / 10)")
    if inp.ratings and inp.average_rating is not None:
        com["rating"] = _sub(40, inp.average_rating / 5, inp.average_rating, "40 × average stars / 5")
        com["rating"]["ratings"] = inp.ratings
    else:
        com["rating"] = _sub(40, None, None, "40 × average stars / 5", "no ratings yet")
    com["viewers"] = _sub(10, inp.viewers / 100, inp.viewers, "10 × clamp(unique viewers / 100)")

    components = {"performance": _component(perf), "risk": _component(risk), "consistency": _component(cons),
                  "efficiency": _component(eff), "community": _component(com)}
    total = clamp(sum(WEIGHTS[k] * c["score"] for k, c in components.items()), 0.0, 100.0)
    return {"score": round(total, 2), "components": components, "weights": WEIGHTS, "formula": FORMULA,
            "figures": {"annual_return": ann, "sharpe": sharpe, "max_drawdown": None if dd is None else -dd,
                        "win_rate": wr, "profit_factor": pf, "trades": n, "sessions": inp.sessions}}
