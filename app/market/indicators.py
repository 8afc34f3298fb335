"""Vectorised technical indicators (TA-Lib definitions) over many stocks at once.

Shape convention
----------------
Every function takes float arrays whose **last axis is time** (oldest bar first, newest
bar last) and returns arrays of the same shape (``float64``):

* 1-D ``(n_bars,)`` -- one symbol;
* 2-D ``(n_symbols, n_bars)`` -- the whole universe at once (the scanners' case); any
  leading dimensions work, they are flattened internally and restored on return.

Results are computed along the last axis for all rows together; there are no per-symbol
Python loops.  The recursive smoothers (EMA, Wilder) step over the time axis with whole
columns at once.

Warm-up and missing values
--------------------------
* During warm-up the result is NaN, with exactly TA-Lib's lookback: ``sma/wma/stdev/
  highest/lowest/rolling_sum/bollinger/ema(n)`` -> ``n - 1`` leading NaNs, ``rsi(n)`` and
  ``atr(n)`` -> ``n``, ``macd(fast, slow, signal)`` -> ``slow + signal - 2`` (for all three
  outputs, with TA-Lib's alignment: the fast EMA is seeded at the same bar as the slow EMA).
* Leading NaNs of a row (a stock listed later than the others) simply shift that row's
  warm-up: every indicator starts counting at the row's first valid value.
* Window indicators (SMA, WMA, sums, stdev, highest/lowest, ref/change): a window that
  contains a NaN gives NaN.
* Recursive indicators (EMA, RSI, ATR, MACD): a NaN bar after the seed gives NaN at that bar
  and is skipped (the smoothed state carries over to the next valid bar).
* Divisions by zero give NaN, never ``inf``.

Percentages (``pct_change``, ``gap_pct``, distances from the 52-week range) are expressed in
percent (``4.0`` means +4 %).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "sma",
    "ema",
    "wma",
    "rsi",
    "atr",
    "true_range",
    "macd",
    "bollinger",
    "highest",
    "lowest",
    "rolling_sum",
    "stdev",
    "change",
    "pct_change",
    "ref",
    "relative_volume",
    "gap_pct",
    "week52_high",
    "week52_low",
    "pct_from",
    "week52_high_distance_pct",
    "week52_low_distance_pct",
    "TRADING_DAYS_PER_YEAR",
]

TRADING_DAYS_PER_YEAR = 252


# --------------------------------------------------------------------------- helpers
def _as2d(x) -> tuple[np.ndarray, tuple[int, ...]]:
    """Return a C-contiguous float64 2-D view (rows, time) and the original shape."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        raise ValueError("indicator input must have at least one (time) dimension")
    shape = a.shape
    rows = int(np.prod(shape[:-1], dtype=np.int64))
    return np.ascontiguousarray(a.reshape(rows, shape[-1])), shape


def _check_n(n, name: str = "n", minimum: int = 1) -> int:
    if isinstance(n, bool) or int(n) != n or n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")
    return int(n)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN (not inf) where den == 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(num, den)
    return np.where(den == 0, np.nan, out)


def _first_valid(a: np.ndarray) -> np.ndarray:
    valid = ~np.isnan(a)
    return np.where(valid.any(axis=1), valid.argmax(axis=1), a.shape[1])


def _smooth(a: np.ndarray, n: int, alpha: float, seed_offset: int | None = None) -> np.ndarray:
    """Exponential smoothing of 2-D ``a`` along time, seeded with a simple mean.

    For each row the seed is the mean of the ``n`` values ending at bar
    ``first_valid + seed_offset`` (default ``n - 1``: the first ``n`` valid values), then
    ``s = s + alpha * (x - s)``.  ``alpha = 2/(n+1)`` gives TA-Lib's EMA, ``1/n`` Wilder's
    smoothing.  NaN bars after the seed give NaN output and leave the state unchanged.
    The loop runs over time with whole columns (all symbols) per step.
    """
    m, t = a.shape
    out = np.full((m, t), np.nan)
    if t == 0 or m == 0:
        return out
    if seed_offset is None:
        seed_offset = n - 1
    seed_at = _first_valid(a) + seed_offset
    live = seed_at < t
    if not live.any():
        return out
    rows = np.flatnonzero(live)
    # seed: mean of the n values ending at seed_at (NaN if that window holds a NaN)
    cols = seed_at[rows, None] - np.arange(n - 1, -1, -1)
    seed_val = np.full(m, np.nan)
    seed_val[rows] = a[rows[:, None], cols].sum(axis=1) / n
    t0 = int(seed_at[live].min())
    nan = np.isnan(a)
    uniform = bool(np.all(seed_at == t0)) and not nan[:, t0 + 1 :].any()
    at = np.ascontiguousarray(a.T)  # (time, symbols): one contiguous column per step
    res = np.empty_like(at)
    res[:t0] = np.nan
    state = seed_val.copy()
    res[t0] = state
    if uniform:  # the common case: one seed bar for all rows, no gaps afterwards
        tmp = np.empty(m)
        for j in range(t0 + 1, t):
            np.subtract(at[j], state, out=tmp)
            tmp *= alpha
            state += tmp
            res[j] = state
        return np.ascontiguousarray(res.T)
    state = np.where(seed_at == t0, seed_val, np.nan)
    res[t0] = state
    for j in range(t0 + 1, t):
        xt = at[j]
        xnan = np.isnan(xt)
        upd = np.where(xnan, state, state + alpha * (xt - state))
        state = np.where(seed_at == j, seed_val, upd)
        res[j] = np.where(xnan, np.nan, state)
    return np.ascontiguousarray(res.T)


def _restore(r: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return r.reshape(shape)


# --------------------------------------------------------------------------- windows
def _tree_sums(a: np.ndarray, n: int, weighted: bool = False):
    """Sums of every window of ``n`` values of 2-D ``a`` (columns ``n-1 ..`` of the result),
    and with ``weighted`` also ``sum((i + 1) * x[s + i])`` (oldest weight 1, newest ``n``).

    Each window is split into power-of-two blocks by the bits of ``n`` (lowest bit first),
    and a block of ``2^k`` values is the sum of its two halves -- a table built by doubling,
    ``log2(n)`` vectorised passes in all. Every sum is therefore made of the window's own
    values by the very same operations wherever the window sits in the array: the
    screener's short cross-section slice, an alert's history and a backtest's full history
    give bit-identical values, so exact ties (``close >= sma(close, 100)`` on a flat run)
    compare the same way in every mode. (A running cumulative sum depends on where the array
    starts and differs in the last bits.) A window holding NaN gives NaN."""
    m, t = a.shape
    count = t - n + 1
    acc = wacc = None
    level = wlevel = a  # block sums (and block weighted sums) of size `size` at every start
    size, off = 1, 0
    while True:
        if n & size:
            blk = level[:, off : off + count]
            acc = blk.copy() if acc is None else acc + blk
            if weighted:
                wblk = wlevel[:, off : off + count] + off * blk
                wacc = wblk if wacc is None else wacc + wblk
            off += size
        if size * 2 > n:
            break
        length = level.shape[1] - size
        right = level[:, size : size + length]
        if weighted:
            wlevel = wlevel[:, :length] + (wlevel[:, size : size + length] + size * right)
        level = level[:, :length] + right
        size *= 2
    return acc, wacc


def _window_sums(a: np.ndarray, n: int) -> np.ndarray:
    """Windowed sums of 2-D ``a`` (NaN where a window holds NaN or is incomplete), each made
    of its window's values only (:func:`_tree_sums`)."""
    m, t = a.shape
    r = np.full((m, t), np.nan)
    if n <= t:
        r[:, n - 1 :] = _tree_sums(a, n)[0]
    return r


def rolling_sum(x, n: int) -> np.ndarray:
    """Sum of the last ``n`` values (TA-Lib SUM)."""
    n = _check_n(n)
    a, shape = _as2d(x)
    if n == 1:
        return _restore(a.copy(), shape)
    return _restore(_window_sums(a, n), shape)


def sma(x, n: int) -> np.ndarray:
    """Simple moving average of the last ``n`` values (TA-Lib SMA)."""
    n = _check_n(n)
    a, shape = _as2d(x)
    if n == 1:
        return _restore(a.copy(), shape)
    return _restore(_window_sums(a, n) / n, shape)


_EXACT_STDEV_MAX_N = 64
_CHUNK_ELEMENTS = 4_000_000


def stdev(x, n: int) -> np.ndarray:
    """Population standard deviation of the last ``n`` values (TA-Lib STDDEV, nbdev=1).

    Windows up to 64 bars use an exact two-pass computation over sliding windows (row chunks
    bound the memory); longer windows use TA-Lib's own formula, ``mean(x^2) - mean(x)^2``,
    over window sums of the window's values only (:func:`_tree_sums`). Both depend on the
    window's values alone, so every evaluation mode gives the same bits."""
    n = _check_n(n)
    a, shape = _as2d(x)
    m, t = a.shape
    r = np.full((m, t), np.nan)
    if n > t:
        return _restore(r, shape)
    if n <= _EXACT_STDEV_MAX_N:
        step = max(1, _CHUNK_ELEMENTS // (t * n))
        for r0 in range(0, m, step):  # chunks of rows, not one symbol at a time
            w = np.lib.stride_tricks.sliding_window_view(a[r0 : r0 + step], n, axis=1)
            dev = w - w.mean(axis=2, keepdims=True)
            r[r0 : r0 + step, n - 1 :] = np.sqrt((dev * dev).mean(axis=2))
        return _restore(r, shape)
    mean = _tree_sums(a, n)[0] / n
    var = _tree_sums(a * a, n)[0] / n - mean * mean
    r[:, n - 1 :] = np.sqrt(np.maximum(var, 0.0))
    return _restore(r, shape)


def wma(x, n: int) -> np.ndarray:
    """Linearly weighted moving average (TA-Lib WMA): newest weight ``n`` ... oldest ``1``;
    weighted window sums of the window's values only (:func:`_tree_sums`)."""
    n = _check_n(n)
    a, shape = _as2d(x)
    if n == 1:
        return _restore(a.copy(), shape)
    m, t = a.shape
    r = np.full((m, t), np.nan)
    if n <= t:
        r[:, n - 1 :] = _tree_sums(a, n, weighted=True)[1] / (n * (n + 1) / 2.0)
    return _restore(r, shape)


def _running_extreme(x, n: int, fn) -> np.ndarray:
    """Rolling max/min over ``n`` bars in O(bars) (van Herk / Gil-Werman), NaN-propagating."""
    n = _check_n(n)
    a, shape = _as2d(x)
    m, t = a.shape
    r = np.full((m, t), np.nan)
    if n > t:
        return _restore(r, shape)
    if n == 1:
        return _restore(a.copy(), shape)
    nb = -(-t // n)
    pad = nb * n - t
    fill = -np.inf if fn is np.maximum else np.inf
    p = np.concatenate([a, np.full((m, pad), fill)], axis=1).reshape(m, nb, n)
    prefix = fn.accumulate(p, axis=2).reshape(m, nb * n)
    suffix = fn.accumulate(p[:, :, ::-1], axis=2)[:, :, ::-1].reshape(m, nb * n)
    j = np.arange(n - 1, t)
    r[:, n - 1 :] = fn(suffix[:, j - n + 1], prefix[:, j])
    return _restore(r, shape)


def highest(x, n: int) -> np.ndarray:
    """Highest value of the last ``n`` bars (TA-Lib MAX)."""
    return _running_extreme(x, n, np.maximum)


def lowest(x, n: int) -> np.ndarray:
    """Lowest value of the last ``n`` bars (TA-Lib MIN)."""
    return _running_extreme(x, n, np.minimum)


# --------------------------------------------------------------------------- shifts
def ref(x, n: int) -> np.ndarray:
    """The value ``n`` bars ago (``n = 0`` is the value itself); NaN before the history."""
    n = _check_n(n, minimum=0)
    a, shape = _as2d(x)
    r = np.full(a.shape, np.nan)
    if n == 0:
        r[:] = a
    elif n < a.shape[1]:
        r[:, n:] = a[:, :-n]
    return _restore(r, shape)


def change(x, n: int = 1) -> np.ndarray:
    """``x - ref(x, n)`` (TA-Lib MOM)."""
    return np.asarray(x, dtype=np.float64) - ref(x, n)


def pct_from(x, base) -> np.ndarray:
    """Percent distance of ``x`` from ``base``: ``(x / base - 1) * 100``; NaN where base is 0."""
    x = np.asarray(x, dtype=np.float64)
    base = np.asarray(base, dtype=np.float64)
    return (_safe_div(x, base) - 1.0) * 100.0


def pct_change(x, n: int = 1) -> np.ndarray:
    """Percent change over ``n`` bars: ``(x / ref(x, n) - 1) * 100`` (TA-Lib ROC)."""
    return pct_from(x, ref(x, n))


# --------------------------------------------------------------------------- smoothers
def ema(x, n: int) -> np.ndarray:
    """Exponential moving average (TA-Lib EMA): alpha ``2/(n+1)``, seeded with the SMA of
    the first ``n`` values; ``n - 1`` warm-up NaNs."""
    n = _check_n(n)
    a, shape = _as2d(x)
    return _restore(_smooth(a, n, 2.0 / (n + 1)), shape)


def rsi(close, n: int = 14) -> np.ndarray:
    """Relative strength index, Wilder's smoothing (TA-Lib RSI); ``n`` warm-up NaNs.

    ``100 * avg_gain / (avg_gain + avg_loss)``; 0 when both averages are 0 (TA-Lib)."""
    n = _check_n(n)
    a, shape = _as2d(close)
    d = np.full(a.shape, np.nan)
    d[:, 1:] = a[:, 1:] - a[:, :-1]
    gain = np.where(np.isnan(d), np.nan, np.maximum(d, 0.0))
    loss = np.where(np.isnan(d), np.nan, np.maximum(-d, 0.0))
    ag = _smooth(gain, n, 1.0 / n)
    al = _smooth(loss, n, 1.0 / n)
    tot = ag + al
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(tot == 0, 0.0, 100.0 * ag / tot)
    return _restore(r, shape)


def true_range(high, low, close) -> np.ndarray:
    """True range (TA-Lib TRANGE): ``max(h - l, |h - prev_close|, |l - prev_close|)``;
    NaN on the first bar (no previous close)."""
    h, shape = _as2d(high)
    lo, _ = _as2d(low)
    c, _ = _as2d(close)
    pc = np.full(c.shape, np.nan)
    pc[:, 1:] = c[:, :-1]
    tr = np.maximum(h - lo, np.maximum(np.abs(h - pc), np.abs(lo - pc)))
    tr[:, 0] = np.nan
    return _restore(tr, shape)


def atr(high, low, close, n: int = 14) -> np.ndarray:
    """Average true range, Wilder's smoothing seeded by the mean of the first ``n`` true
    ranges (TA-Lib ATR); ``n`` warm-up NaNs."""
    n = _check_n(n)
    tr, shape = _as2d(true_range(high, low, close))
    return _restore(_smooth(tr, n, 1.0 / n), shape)


def macd(close, fast: int = 12, slow: int = 26, signal: int = 9):
    """MACD with TA-Lib's alignment -> ``(macd, signal, hist)``.

    Both EMAs start at bar ``slow - 1``: the slow EMA seeded with the SMA of the first
    ``slow`` values, the fast EMA seeded with the SMA of the ``fast`` values ending at that
    same bar.  The signal line is the EMA(``signal``) of the MACD line; all three outputs
    have ``slow + signal - 2`` warm-up NaNs.
    """
    fast, slow, signal = (
        _check_n(fast, "fast"),
        _check_n(slow, "slow"),
        _check_n(signal, "signal"),
    )
    if slow < fast:
        fast, slow = slow, fast
    a, shape = _as2d(close)
    ef = _smooth(a, fast, 2.0 / (fast + 1), seed_offset=slow - 1)
    es = _smooth(a, slow, 2.0 / (slow + 1), seed_offset=slow - 1)
    line = ef - es
    sig = _smooth(line, signal, 2.0 / (signal + 1))
    line = np.where(np.isnan(sig), np.nan, line)
    hist = line - sig
    return _restore(line, shape), _restore(sig, shape), _restore(hist, shape)


def bollinger(close, n: int = 20, k: float = 2.0):
    """Bollinger bands (TA-Lib BBANDS, SMA, population stdev) -> ``(upper, mid, lower)``."""
    mid = sma(close, n)
    sd = stdev(close, n)
    return mid + k * sd, mid, mid - k * sd


# --------------------------------------------------------------------------- scanner helpers
def relative_volume(volume, avg_n: int = 63) -> np.ndarray:
    """Today's volume divided by the average volume of the previous ``avg_n`` bars
    (today excluded); ``avg_n`` warm-up NaNs; NaN when that average is 0."""
    v = np.asarray(volume, dtype=np.float64)
    return _safe_div(v, ref(sma(v, avg_n), 1))


def gap_pct(open_, prev_close) -> np.ndarray:
    """Opening gap in percent: ``(open / previous close - 1) * 100``.

    Pass the previous bar's close, e.g. ``gap_pct(open, ref(close, 1))`` on bar arrays or the
    snapshot's previous close for a quote."""
    return pct_from(open_, prev_close)


def week52_high(high, n: int = TRADING_DAYS_PER_YEAR) -> np.ndarray:
    """Highest high of the last 252 bars (one trading year)."""
    return highest(high, n)


def week52_low(low, n: int = TRADING_DAYS_PER_YEAR) -> np.ndarray:
    """Lowest low of the last 252 bars (one trading year)."""
    return lowest(low, n)


def week52_high_distance_pct(close, high, n: int = TRADING_DAYS_PER_YEAR) -> np.ndarray:
    """Percent distance of the close from the 52-week high (``<= 0``; 0 = at the high)."""
    return pct_from(close, week52_high(high, n))


def week52_low_distance_pct(close, low, n: int = TRADING_DAYS_PER_YEAR) -> np.ndarray:
    """Percent distance of the close above the 52-week low (``>= 0``; 0 = at the low)."""
    return pct_from(close, week52_low(low, n))
