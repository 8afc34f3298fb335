"""Performance metrics over equity curves and closed trades (pure numpy).

The one place performance numbers are computed: paper accounts, strategies (backtests and
forward tracking), the drawdown curves of the charts, the scorer and the leaderboard
(:func:`equity_stats_many`, the same figures for many curves at once). Inputs are plain
sequences (floats); ledger Decimals are converted by the caller. Functions return ``None``
when the sample is too small for the number to mean anything, never NaN/inf (except
:func:`profit_factor`, see there). :data:`DOCS` is what pages show next to each number:
its formula, its unit and how it differs from backtesting.py's figure of the same name.

Conventions: a year has :data:`PERIODS_PER_YEAR` = 252 trading days; returns are simple
(not log) returns expressed as fractions (0.05 = 5 %); one period is one daily equity point
(a trading day: a "day" below always means a trading session, not a calendar day).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PERIODS_PER_YEAR = 252
NO_LOSSES = "no losses"


def _arr(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float).ravel()


def total_return(equity: Sequence[float]) -> float | None:
    """``E_last / E_first - 1``. Needs 2 points and a positive first value."""
    e = _arr(equity)
    if e.size < 2 or e[0] <= 0:
        return None
    return float(e[-1] / e[0] - 1.0)


def annualised_return(equity: Sequence[float], periods_per_year: int = PERIODS_PER_YEAR) -> float | None:
    """Compound annual growth: ``(E_last / E_first) ** (252 / n) - 1`` with ``n`` the number
    of daily returns (points - 1). Needs 2 points; noisy below ~1 month of data."""
    e = _arr(equity)
    if e.size < 2 or e[0] <= 0:
        return None
    n = e.size - 1
    growth = e[-1] / e[0]
    if growth <= 0:
        return -1.0
    return float(growth ** (periods_per_year / n) - 1.0)


def daily_returns(equity: Sequence[float]) -> np.ndarray:
    """``r_t = E_t / E_{t-1} - 1`` for consecutive daily equity values (length n - 1)."""
    e = _arr(equity)
    if e.size < 2:
        return np.empty(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = e[1:] / e[:-1] - 1.0
    return np.where(np.isfinite(r), r, 0.0)


def sharpe(returns: Sequence[float], risk_free: float = 0.0,
           periods_per_year: int = PERIODS_PER_YEAR) -> float | None:
    """Annualised Sharpe ratio: ``mean(r - rf_d) / std(r - rf_d, ddof=1) * sqrt(252)`` with
    ``rf_d = risk_free / 252`` (``risk_free`` is an annual rate). Needs >= 2 returns and a
    non-zero standard deviation; meaningful from ~30 daily returns."""
    r = _arr(returns)
    if r.size < 2:
        return None
    excess = r - risk_free / periods_per_year
    sd = excess.std(ddof=1)
    if sd == 0 or not np.isfinite(sd):
        return None
    return float(excess.mean() / sd * np.sqrt(periods_per_year))


def sortino(returns: Sequence[float], risk_free: float = 0.0,
            periods_per_year: int = PERIODS_PER_YEAR) -> float | None:
    """Annualised Sortino ratio: ``mean(x) / DD * sqrt(252)`` where ``x = r - rf_d`` and the
    downside deviation ``DD = sqrt(mean(min(x, 0)^2))`` over *all* periods (target 0).
    Needs >= 2 returns and at least one negative excess return."""
    r = _arr(returns)
    if r.size < 2:
        return None
    x = r - risk_free / periods_per_year
    dd = np.sqrt(np.mean(np.minimum(x, 0.0) ** 2))
    if dd == 0:
        return None
    return float(x.mean() / dd * np.sqrt(periods_per_year))


@dataclass(frozen=True)
class Drawdown:
    max_drawdown: float  # as a negative fraction, e.g. -0.25; 0.0 when the curve never fell
    peak_index: int  # where the deepest fall started
    trough_index: int
    duration: int  # longest stretch (in periods = daily bars, not calendar days) below a previous peak
    recovered: bool  # whether the deepest fall was recovered by the last point


def max_drawdown(equity: Sequence[float]) -> Drawdown | None:
    """Deepest peak-to-trough fall: ``min_t (E_t / max_{s<=t} E_s - 1)``, and the longest
    duration (periods from a peak until equity regains it, or until the end if it never
    does). Needs 2 points."""
    e = _arr(equity)
    if e.size < 2:
        return None
    peaks = np.maximum.accumulate(e)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peaks > 0, e / peaks - 1.0, 0.0)
    trough = int(np.argmin(dd))
    peak = int(np.argmax(e[: trough + 1])) if trough else 0
    longest = longest_run(dd < 0)
    recovered = bool(dd[trough] == 0 or (e[trough:] >= peaks[trough]).any())
    return Drawdown(float(dd[trough]), peak, trough, int(longest), recovered)


def longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of consecutive True values (vectorised)."""
    f = np.concatenate([[False], np.asarray(flags, dtype=bool), [False]])
    edges = np.flatnonzero(f[1:] != f[:-1])  # starts and ends of runs, alternating
    return int((edges[1::2] - edges[::2]).max()) if edges.size else 0


def drawdown_series(equity: Sequence[float]) -> np.ndarray:
    """The underwater curve in percent: ``(E_t / max_{s<=t} E_s - 1) * 100`` (0 at a peak;
    0 where the running peak is not positive). What the equity charts draw."""
    e = _arr(equity)
    if e.size == 0:
        return np.empty(0)
    peaks = np.maximum.accumulate(e)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peaks > 0, e / peaks - 1.0, 0.0) * 100.0


@dataclass(frozen=True)
class EquityStats:
    annualised_return: float | None  # as annualised_return()
    max_drawdown: float | None  # |max_drawdown().max_drawdown| (a positive fraction)
    sharpe: float | None  # as sharpe(daily_returns(equity))


def equity_stats_many(curves: Sequence[Sequence[float]]) -> list[EquityStats]:
    """:func:`annualised_return`, ``|max drawdown|`` and :func:`sharpe` of many equity curves
    at once (the leaderboard scores thousands of windows): curves of the same length are
    stacked and reduced row-wise -- a row-wise numpy reduction over a contiguous row is the
    same computation as over that row alone, so every figure is bit-identical to the
    single-curve functions (tests/strategies/test_metrics_parity.py)."""
    arrays = [_arr(c) for c in curves]
    out = [EquityStats(None, None, None)] * len(arrays)
    by_len: dict[int, list[int]] = {}
    for i, e in enumerate(arrays):
        by_len.setdefault(e.size, []).append(i)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for size, idx in by_len.items():
            if size < 2:
                continue
            e = np.stack([arrays[i] for i in idx])
            growth = e[:, -1] / e[:, 0]
            ex = PERIODS_PER_YEAR / (size - 1)
            positive = (e[:, 0] > 0).tolist()
            peaks = np.maximum.accumulate(e, axis=1)
            dds = np.abs(np.where(peaks > 0, e / peaks - 1.0, 0.0).min(axis=1)).tolist()
            sharpes = [None] * len(idx)
            if size >= 3:
                r = e[:, 1:] / e[:, :-1] - 1.0
                r = np.ascontiguousarray(np.where(np.isfinite(r), r, 0.0))
                sd = r.std(axis=1, ddof=1)
                val = r.mean(axis=1) / sd * np.sqrt(PERIODS_PER_YEAR)
                ok = ((sd != 0) & np.isfinite(sd)).tolist()
                sharpes = [float(v) if k else None for v, k in zip(val, ok, strict=True)]
            for j, i in enumerate(idx):
                ann = None
                if positive[j]:
                    g = growth[j]
                    ann = -1.0 if g <= 0 else float(g ** ex - 1.0)
                out[i] = EquityStats(ann, dds[j], sharpes[j])
    return out


def monthly_returns(days: Sequence, equity: Sequence[float]) -> list[dict]:
    """Calendar-month returns of a daily equity curve: ``E(month end) / E(previous month
    end) - 1`` (the first month from the first point), per year with the compounded year
    total: ``[{"year", "months": [12 fractions or None], "total"}]``."""
    if not len(days):
        return []
    import pandas as pd

    s = pd.Series(_arr(equity), index=pd.to_datetime(list(days)))
    month_end = s.resample("ME").last()
    prev = month_end.shift(1)
    prev.iloc[0] = s.iloc[0]
    rets = month_end / prev - 1
    out = []
    for year, g in rets.groupby(rets.index.year):
        months: list[float | None] = [None] * 12
        for ts, v in g.items():
            months[ts.month - 1] = None if not np.isfinite(v) else float(v)
        total = float(np.prod([1 + v for v in months if v is not None]) - 1)
        out.append({"year": int(year), "months": months, "total": total})
    return out


def calmar(equity: Sequence[float], periods_per_year: int = PERIODS_PER_YEAR) -> float | None:
    """``annualised_return / |max_drawdown|``. None without a drawdown; needs 2 points
    (conventionally reported over >= 1 year)."""
    ann = annualised_return(equity, periods_per_year)
    dd = max_drawdown(equity)
    if ann is None or dd is None or dd.max_drawdown == 0:
        return None
    return float(ann / abs(dd.max_drawdown))


def win_rate(pnls: Sequence[float]) -> float | None:
    """Share of closed trades with P&L > 0 (break-even trades count as non-wins).
    Needs >= 1 trade; the leaderboard requires 30."""
    p = _arr(pnls)
    if p.size == 0:
        return None
    return float((p > 0).sum() / p.size)


def profit_factor(pnls: Sequence[float]) -> float | str | None:
    """``sum(wins) / |sum(losses)|``. Returns :data:`NO_LOSSES` ("no losses") when there
    are wins and no losing trade, None without trades or with neither wins nor losses."""
    p = _arr(pnls)
    if p.size == 0:
        return None
    gains = p[p > 0].sum()
    losses = -p[p < 0].sum()
    if losses == 0:
        return NO_LOSSES if gains > 0 else None
    return float(gains / losses)


def expectancy(pnls: Sequence[float]) -> float | None:
    """Average P&L per trade: ``win_rate * avg_win - loss_rate * |avg_loss|`` which equals
    ``mean(pnl)``. Needs >= 1 trade."""
    p = _arr(pnls)
    if p.size == 0:
        return None
    return float(p.mean())


def average_win(pnls: Sequence[float]) -> float | None:
    """Mean P&L of trades with P&L > 0 (None without wins)."""
    p = _arr(pnls)
    wins = p[p > 0]
    return float(wins.mean()) if wins.size else None


def average_loss(pnls: Sequence[float]) -> float | None:
    """Mean P&L of trades with P&L < 0, a negative number (None without losses)."""
    p = _arr(pnls)
    losses = p[p < 0]
    return float(losses.mean()) if losses.size else None


def win_loss_ratio(pnls: Sequence[float]) -> float | None:
    """``avg_win / |avg_loss|`` (None unless there are both wins and losses)."""
    w, lo = average_win(pnls), average_loss(pnls)
    if w is None or lo is None:
        return None
    return float(w / abs(lo))


def exposure(in_market_seconds: float, window_seconds: float) -> float | None:
    """Share of the window with at least one open position: ``time in market / window``,
    clipped to [0, 1]. Callers pass the union of the holding intervals (see
    :func:`exposure_from_intervals`)."""
    if window_seconds <= 0:
        return None
    return float(min(max(in_market_seconds / window_seconds, 0.0), 1.0))


def exposure_from_intervals(starts: Sequence[float], ends: Sequence[float],
                            window_start: float, window_end: float) -> float | None:
    """:func:`exposure` from holding intervals (epoch seconds), overlapping intervals
    counted once and clipped to the window."""
    s = np.clip(_arr(starts), window_start, window_end)
    e = np.clip(_arr(ends), window_start, window_end)
    if window_end <= window_start:
        return None
    if s.size == 0:
        return 0.0
    order = np.argsort(s)
    s, e = s[order], e[order]
    # union of intervals: running max of ends; a new block starts where s > previous max end
    run_end = np.maximum.accumulate(e)
    covered = 0.0
    block_start = s[0]
    for i in range(1, s.size):
        if s[i] > run_end[i - 1]:
            covered += run_end[i - 1] - block_start
            block_start = s[i]
    covered += run_end[-1] - block_start
    return exposure(covered, window_end - window_start)


# ---------------------------------------------------------------------------------------------
# What pages show next to each number (hover titles, formula columns, footnotes)
@dataclass(frozen=True)
class MetricDoc:
    key: str
    label: str
    formula: str
    unit: str
    vs_backtesting: str  # how backtesting.py's figure of the same name differs ("" = the same)
    kind: str  # how templates format it: pct (fraction shown in %), ratio, num, int, money

    @property
    def title(self) -> str:
        """One line for a hover title: formula, unit and the difference from backtesting.py."""
        text = f"{self.label} = {self.formula} [{self.unit}]"
        return f"{text}. {self.vs_backtesting}" if self.vs_backtesting else text


DOCS: tuple[MetricDoc, ...] = (
    MetricDoc("total_return", "Total return", "E_last / E_first − 1", "% of the starting equity, not annualised",
              "", "pct"),
    MetricDoc("annualised_return", "Annual return", "(E_last / E_first)^(252 / n) − 1, n = daily returns",
              "% a year (252 trading days)",
              "backtesting.py's “Return (Ann.)” compounds the geometric mean daily return: close, not identical",
              "pct"),
    MetricDoc("sharpe", "Sharpe", "mean(r − rf) / stdev(r − rf) × √252, r = daily returns, rf = 0",
              "ratio, annualised with √252",
              "backtesting.py divides its annual return by an annualised volatility of geometric returns: "
              "its Sharpe differs", "num"),
    MetricDoc("sortino", "Sortino", "mean(r − rf) / √mean(min(r − rf, 0)²) × √252", "ratio, annualised with √252",
              "backtesting.py divides its annual return by the annualised downside deviation: its Sortino differs",
              "num"),
    MetricDoc("max_drawdown", "Max drawdown", "min_t (E_t / max_{s≤t} E_s − 1)", "% below the running peak",
              "", "pct"),
    MetricDoc("max_drawdown_duration", "Longest drawdown",
              "longest run of consecutive daily bars closing below a previous equity peak",
              "trading days (daily bars), not calendar days",
              "backtesting.py's “Max. Drawdown Duration” is calendar time from the peak to the recovery", "int"),
    MetricDoc("calmar", "Calmar", "annual return / |max drawdown|", "ratio",
              "backtesting.py uses its own annual return (see Annual return)", "num"),
    MetricDoc("win_rate", "Win rate", "closed trades with P&L > 0 / closed trades", "% of closed trades", "",
              "ratio"),
    MetricDoc("profit_factor", "Profit factor", "sum(winning P&L) / |sum(losing P&L)|", "ratio of dollars",
              "backtesting.py sums the trades' percentage returns instead of their dollar P&L", "num"),
    MetricDoc("expectancy", "Expectancy", "mean net P&L per closed trade", "$ per trade",
              "backtesting.py's “Expectancy [%]” is the mean percentage return per trade", "money"),
    MetricDoc("average_win", "Average win", "mean P&L of trades with P&L > 0", "$ per trade", "", "money"),
    MetricDoc("average_loss", "Average loss", "mean P&L of trades with P&L < 0", "$ per trade", "", "money"),
    MetricDoc("win_loss_ratio", "Avg win / avg loss", "average win / |average loss|", "ratio", "", "num"),
    MetricDoc("exposure", "Exposure", "daily bars with a position held / daily bars", "% of trading days",
              "", "ratio"),
    MetricDoc("trades", "Closed trades", "round trips closed in the range", "trades", "", "int"),
)
DOC: dict[str, MetricDoc] = {d.key: d for d in DOCS}


def summary(equity: Sequence[float], pnls: Sequence[float], risk_free: float = 0.0) -> dict:
    """Every metric at once (what pages and reviews show), with the sample sizes."""
    r = daily_returns(equity)
    dd = max_drawdown(equity)
    return {
        "total_return": total_return(equity),
        "annualised_return": annualised_return(equity),
        "sharpe": sharpe(r, risk_free),
        "sortino": sortino(r, risk_free),
        "max_drawdown": dd.max_drawdown if dd else None,
        "max_drawdown_duration": dd.duration if dd else None,
        "calmar": calmar(equity),
        "win_rate": win_rate(pnls),
        "profit_factor": profit_factor(pnls),
        "expectancy": expectancy(pnls),
        "average_win": average_win(pnls),
        "average_loss": average_loss(pnls),
        "trades": int(_arr(pnls).size),
        "days": int(r.size),
    }
