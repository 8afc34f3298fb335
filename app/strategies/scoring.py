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


# ---------------------------------------------------------------------------------------------
# Many strategies at once (the leaderboard rebuild)
#
# The same formulas as :func:`compute`, without the breakdown texts: the equity figures of all
# windows come from :func:`app.paper.metrics.equity_stats_many` (bit-identical to the
# single-curve functions), each window's trade figures from the same metric functions, and the
# sub-scores, components and the total are computed with numpy over arrays of windows.
# tests/strategies/test_scoring.py checks ``compute_many`` against ``compute``.


def _window_stats(inp: Inputs) -> tuple:
    """(pf, wr, wl, no_loss_wins, n, cv, gross, bench_ann) of one window's trades; None
    where :func:`compute` has no data."""
    p = np.asarray(inp.pnls, dtype=float).ravel()
    n = int(p.size)
    cv = None
    if n >= MIN_STABILITY_TRADES:
        pcts = np.asarray(inp.pnl_pcts, dtype=float)
        mean = float(pcts.mean())
        if mean > 0:
            cv = float(pcts.std(ddof=1) / mean)
    no_loss_wins = bool(n) and not (p < 0).any() and bool((p > 0).any())
    gross = float(p[p > 0].sum()) if n else 0.0
    bench_ann = m.annualised_return(inp.benchmark) if inp.benchmark is not None else None
    return (m.profit_factor(p), m.win_rate(p), m.win_loss_ratio(p), no_loss_wins, n, cv, gross, bench_ann)


def _points(points: float, ratio: np.ndarray, has: np.ndarray) -> np.ndarray:
    """``points x clamp(ratio)`` where there is data, else 0 (as :func:`_sub`)."""
    r = np.where(has, ratio, 0.0)
    return np.where(has, points * np.minimum(np.maximum(r, 0.0), 1.0), 0.0)


def _sum_component(*subs: np.ndarray) -> np.ndarray:
    total = np.zeros_like(subs[0])
    for s in subs:
        total = total + s
    return np.minimum(np.maximum(total, 0.0), 100.0)


def compute_many(inputs: list[Inputs]) -> list[dict]:
    """``score``, component scores and ``figures`` for many windows at once: the same values
    as ``compute(inp)["score"]``, ``{k: c["score"]}`` and ``compute(inp)["figures"]``."""
    if not inputs:
        return []
    eq = m.equity_stats_many([inp.equity for inp in inputs])
    with np.errstate(divide="ignore", invalid="ignore"):
        stats = [(e.annualised_return, e.max_drawdown, e.sharpe) + _window_stats(inp)
                 for e, inp in zip(eq, inputs, strict=True)]
    cols = list(zip(*stats, strict=True))

    def arr(values, fill=np.nan) -> tuple[np.ndarray, np.ndarray]:
        has = np.array([v is not None for v in values], dtype=bool)
        return np.array([fill if v is None else v for v in values], dtype=float), has

    ann, has_ann = arr(cols[0])
    dd, has_dd = arr(cols[1])
    sharpe, has_sharpe = arr(cols[2])
    pf_raw = cols[3]
    pf_no_losses = np.array([v == m.NO_LOSSES for v in pf_raw], dtype=bool)
    pf, has_pf = arr([None if isinstance(v, str) else v for v in pf_raw])
    wr, has_wr = arr(cols[4])
    wl, has_wl = arr(cols[5])
    no_loss_wins = np.array(cols[6], dtype=bool)
    n = np.array(cols[7], dtype=float)
    cv, has_cv = arr(cols[8])
    gross = np.array(cols[9], dtype=float)
    bench_ann, has_bench = arr(cols[10])
    sessions = np.array([inp.sessions for inp in inputs], dtype=float)
    costs = np.array([float(inp.costs) for inp in inputs], dtype=float)
    clones = np.array([inp.clones for inp in inputs], dtype=float)
    has_rating = np.array([bool(inp.ratings) and inp.average_rating is not None for inp in inputs], dtype=bool)
    rating = np.array([inp.average_rating if h else 0.0 for inp, h in zip(inputs, has_rating, strict=True)],
                      dtype=float)
    viewers = np.array([inp.viewers for inp in inputs], dtype=float)
    everywhere = np.ones(len(inputs), dtype=bool)

    with np.errstate(divide="ignore", invalid="ignore"):
        # performance
        perf = _sum_component(
            _points(50, ann / 0.50, has_ann),
            np.where(pf_no_losses, 30 * 1.0, _points(30, pf / 3.0, has_pf)),
            _points(20, (ann - bench_ann) / 0.20, has_ann & has_bench))
        # risk
        recovery = np.where(dd == 0, np.where(ann > 0, 1.0, 0.0), (ann / dd) / 5.0)
        risk = _sum_component(
            _points(50, sharpe / 3.0, has_sharpe),
            _points(30, (0.50 - dd) / 0.40, has_dd),
            _points(20, recovery, has_ann & has_dd))
        # consistency
        cons = _sum_component(
            _points(60, wr / 0.70, has_wr),
            _points(40, (2.0 - cv) / 1.5, has_cv))
        # efficiency
        weeks = sessions / 5.0
        rate = n / weeks
        freq = np.where(rate < 1, rate, np.where(rate <= 5, 1.0, (10 - rate) / 5))
        drag = costs / gross * 100
        eff = _sum_component(
            np.where(~has_wl & (n > 0) & no_loss_wins, 50 * 1.0, _points(50, wl / 3.0, has_wl)),
            _points(30, freq, weeks > 0),
            _points(20, (20 - drag) / 20, gross > 0))
        # community
        com = _sum_component(
            _points(50, clones / 10, everywhere),
            _points(40, rating / 5, has_rating),
            _points(10, viewers / 100, everywhere))
    components = {"performance": perf, "risk": risk, "consistency": cons, "efficiency": eff, "community": com}
    total = np.zeros(len(inputs))
    for k, c in components.items():
        total = total + WEIGHTS[k] * c
    total = np.minimum(np.maximum(total, 0.0), 100.0)
    comp_lists = {k: c.tolist() for k, c in components.items()}
    out = []
    for i, (s, inp) in enumerate(zip(stats, inputs, strict=True)):
        a, d = s[0], s[1]
        out.append({"score": round(float(total[i]), 2),
                    "components": {k: comp_lists[k][i] for k in components},
                    "figures": {"annual_return": a, "sharpe": s[2], "max_drawdown": None if d is None else -d,
                                "win_rate": s[4], "profit_factor": s[3], "trades": s[7], "sessions": inp.sessions}})
    return out
