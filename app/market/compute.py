"""From bars and quotes to the numbers the screener reads, vectorised over all stocks.

Two paths, both without per-stock Python loops:

* :func:`daily_indicators` (daily job): the full indicator series of
  :mod:`app.market.indicators` over the stored daily bars (``(n_symbols, n_bars)``
  matrices), keeping the latest values **and the state** that lets the next session's
  values be updated from a single price;
* :func:`live_indicators` (1-minute job): today's values from yesterday's state and the
  current quote, in O(1) per stock. Updating with a price gives exactly what a full
  recomputation over the bars plus a bar closing at that price would give (tested).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from app.market import indicators as ind

W52 = ind.TRADING_DAYS_PER_YEAR
AVG_VOLUME_BARS = 63  # three months
BB_N, BB_K = 20, 2.0
RSI_N, ATR_N = 14, 14
FAST, SLOW, SIGNAL = 12, 26, 9

#: live indicator columns (what the screener filters on)
LIVE_COLS = [
    "sma20", "sma50", "sma200", "ema12", "ema26", "rsi14", "macd", "macd_signal", "macd_hist",
    "atr14", "bb_upper", "bb_mid", "bb_lower", "week52_high", "week52_low",
    "week52_high_dist_pct", "week52_low_dist_pct", "rel_volume", "gap_pct", "avg_volume",
    "atr_pct",
]
#: state as of the last daily bar, for the live update
STATE_COLS = [
    "base_close", "sum19", "sum49", "sum199", "sumsq19", "rsi_avg_gain", "rsi_avg_loss",
    "high251", "low251",
]


def to_matrix(frame: pd.DataFrame, cols: list[str], n_bars: int | None = None):
    """Long bars (sorted by symbol, ts) -> ``(symbols, {col: (n_symbols, n_bars)})``.

    Rows are right-aligned: the last column is each stock's latest bar; shorter
    histories are NaN-padded on the left (the indicators treat that as warm-up)."""
    if frame.empty:
        return np.array([], dtype=object), {c: np.empty((0, n_bars or 0)) for c in cols}
    sym = frame["symbol"].to_numpy()
    symbols, inv = np.unique(sym, return_inverse=True)
    counts = np.bincount(inv)
    n = int(counts.max()) if n_bars is None else int(n_bars)
    cum = frame.groupby("symbol", sort=False).cumcount().to_numpy()
    col = n - counts[inv] + cum
    keep = col >= 0
    out = {}
    for c in cols:
        m = np.full((len(symbols), n), np.nan)
        m[inv[keep], col[keep]] = frame[c].to_numpy(dtype=np.float64)[keep]
        out[c] = m
    return symbols, out


def _last(a: np.ndarray) -> np.ndarray:
    return a[:, -1] if a.shape[1] else np.full(a.shape[0], np.nan)


def _trailing(fn, a: np.ndarray, n: int) -> np.ndarray:
    """nan-tolerant reduction over the last ``n`` bars (52-week range on short histories)."""
    with np.errstate(all="ignore"):
        w = a[:, -n:]
        ok = ~np.isnan(w).all(axis=1)
        out = np.full(a.shape[0], np.nan)
        if ok.any():
            out[ok] = fn(w[ok], axis=1)
    return out


def _pct(x, base):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (x / base - 1.0) * 100.0
    return np.where(np.isfinite(r), r, np.nan)


def daily_indicators(frame: pd.DataFrame) -> pd.DataFrame:
    """Latest indicator values and live-update state per symbol from daily bars."""
    symbols, m = to_matrix(frame, ["open", "high", "low", "close", "volume"])
    if len(symbols) == 0:
        return pd.DataFrame(columns=["symbol", "as_of"] + LIVE_COLS + STATE_COLS + ["ema12", "ema26"])
    o, h, lo, c, v = m["open"], m["high"], m["low"], m["close"], m["volume"]
    macd_line, signal, hist = ind.macd(c, FAST, SLOW, SIGNAL)
    up, mid, low_b = ind.bollinger(c, BB_N, BB_K)
    atr = _last(ind.atr(h, lo, c, ATR_N))
    # Wilder averages of gains/losses (RSI state): recover from rsi via the same smoothing
    d = np.full(c.shape, np.nan)
    d[:, 1:] = c[:, 1:] - c[:, :-1]
    gain = np.where(np.isnan(d), np.nan, np.maximum(d, 0.0))
    loss = np.where(np.isnan(d), np.nan, np.maximum(-d, 0.0))
    # Wilder state: the same smoother indicators.rsi uses (TA-Lib seeding)
    ag = _last(ind._smooth(gain, RSI_N, 1.0 / RSI_N))
    al = _last(ind._smooth(loss, RSI_N, 1.0 / RSI_N))
    close = _last(c)
    w52h = _trailing(np.nanmax, h, W52)
    w52l = _trailing(np.nanmin, lo, W52)
    avg_vol = _last(ind.sma(v, AVG_VOLUME_BARS))
    avg_vol_short = _trailing(np.nanmean, v, AVG_VOLUME_BARS)  # short histories
    avg_vol = np.where(np.isnan(avg_vol), avg_vol_short, avg_vol)
    prev_avg = _last(ind.ref(ind.sma(v, AVG_VOLUME_BARS), 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_vol = np.where(prev_avg > 0, _last(v) / prev_avg, np.nan)
    prev_close = _last(ind.ref(c, 1))
    out = pd.DataFrame({
        "symbol": symbols,
        "as_of": frame.groupby("symbol")["ts"].max().reindex(symbols).to_numpy(),
        "sma20": _last(ind.sma(c, 20)), "sma50": _last(ind.sma(c, 50)),
        "sma200": _last(ind.sma(c, 200)),
        "ema12": _last(ind.ema(c, FAST)), "ema26": _last(ind.ema(c, SLOW)),
        "rsi14": _last(ind.rsi(c, RSI_N)),
        "macd": _last(macd_line), "macd_signal": _last(signal), "macd_hist": _last(hist),
        "atr14": atr, "atr_pct": np.where(close > 0, atr / close * 100, np.nan),
        "bb_upper": _last(up), "bb_mid": _last(mid), "bb_lower": _last(low_b),
        "week52_high": w52h, "week52_low": w52l,
        "week52_high_dist_pct": _pct(close, w52h), "week52_low_dist_pct": _pct(close, w52l),
        "rel_volume": rel_vol, "gap_pct": _pct(_last(o), prev_close), "avg_volume": avg_vol,
        # state for the live update of the next session
        "base_close": close,
        "sum19": _last(ind.rolling_sum(c, 19)), "sum49": _last(ind.rolling_sum(c, 49)),
        "sum199": _last(ind.rolling_sum(c, 199)),
        "sumsq19": _last(ind.rolling_sum(c * c, 19)),
        "rsi_avg_gain": ag, "rsi_avg_loss": al,
        "high251": _trailing(np.nanmax, h, W52 - 1), "low251": _trailing(np.nanmin, lo, W52 - 1),
    })
    return out


def volume_fraction(minutes_elapsed, session_minutes) -> np.ndarray:
    """Expected share of a day's volume traded after ``minutes_elapsed`` minutes
    (U-shaped intraday profile: busy open and close)."""
    m = np.clip(np.asarray(minutes_elapsed, dtype=float), 0, None)
    M = np.asarray(session_minutes, dtype=float)
    k = 25.0

    def cum(t):
        return t + 1.6 * k * (1 - np.exp(-t / k)) + 1.1 * k * (np.exp(-(M - t) / k) - np.exp(-M / k))

    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(cum(np.minimum(m, M)) / cum(M), 1e-3, 1.0)


def live_indicators(state: pd.DataFrame, quotes: pd.DataFrame) -> pd.DataFrame:
    """Today's indicator values from yesterday's state (columns as produced by
    :func:`daily_indicators`, indexed by symbol) and the quote (indexed by symbol:
    price, open, high, low, volume, prev_close, volume_fraction)."""
    s = state.reindex(quotes.index)
    p = quotes["price"].to_numpy(dtype=float)
    g = lambda c: s[c].to_numpy(dtype=float)  # noqa: E731
    out = pd.DataFrame(index=quotes.index)
    out["sma20"] = (g("sum19") + p) / 20
    out["sma50"] = (g("sum49") + p) / 50
    out["sma200"] = (g("sum199") + p) / 200
    af, as_, asig = 2 / (FAST + 1), 2 / (SLOW + 1), 2 / (SIGNAL + 1)
    e12 = g("ema12") + af * (p - g("ema12"))
    e26 = g("ema26") + as_ * (p - g("ema26"))
    out["ema12"], out["ema26"] = e12, e26
    line = e12 - e26
    sig = g("macd_signal") + asig * (line - g("macd_signal"))
    out["macd"], out["macd_signal"], out["macd_hist"] = line, sig, line - sig
    d = p - g("base_close")
    ag = (g("rsi_avg_gain") * (RSI_N - 1) + np.maximum(d, 0)) / RSI_N
    al = (g("rsi_avg_loss") * (RSI_N - 1) + np.maximum(-d, 0)) / RSI_N
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rsi14"] = np.where(ag + al == 0, 0.0, 100 * ag / (ag + al))
    hi = np.fmax(quotes["high"].to_numpy(dtype=float), p)
    lo = np.fmin(quotes["low"].to_numpy(dtype=float), p)
    pc = g("base_close")
    tr = np.maximum(hi - lo, np.maximum(np.abs(hi - pc), np.abs(lo - pc)))
    atr = (g("atr14") * (ATR_N - 1) + tr) / ATR_N
    out["atr14"] = atr
    out["atr_pct"] = np.where(p > 0, atr / p * 100, np.nan)
    mean = out["sma20"].to_numpy()
    var = np.maximum((g("sumsq19") + p * p) / 20 - mean * mean, 0.0)
    sd = np.sqrt(var)
    out["bb_mid"], out["bb_upper"], out["bb_lower"] = mean, mean + BB_K * sd, mean - BB_K * sd
    w52h = np.fmax(g("high251"), hi)
    w52l = np.fmin(g("low251"), lo)
    out["week52_high"], out["week52_low"] = w52h, w52l
    out["week52_high_dist_pct"], out["week52_low_dist_pct"] = _pct(p, w52h), _pct(p, w52l)
    avg = g("avg_volume")
    frac = quotes["volume_fraction"].to_numpy(dtype=float) if "volume_fraction" in quotes else 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        rv = quotes["volume"].to_numpy(dtype=float) / (avg * frac)
    out["rel_volume"] = np.where(np.isfinite(rv), rv, np.nan)
    out["gap_pct"] = _pct(quotes["open"].to_numpy(dtype=float), quotes["prev_close"].to_numpy(dtype=float))
    out["avg_volume"] = avg
    return out


def intraday_indicators(frame: pd.DataFrame, session_start) -> pd.DataFrame:
    """From 10-minute bars: RSI 14 and SMA 20 on 10-minute closes, today's VWAP."""
    symbols, m = to_matrix(frame, ["close", "volume", "high", "low"])
    if len(symbols) == 0:
        return pd.DataFrame(columns=["symbol", "rsi14_10m", "sma20_10m", "vwap"])
    today = frame[frame["ts"] >= pd.Timestamp(session_start)]
    typical = (today["high"] + today["low"] + today["close"]) / 3
    pv = (typical * today["volume"]).groupby(today["symbol"]).sum()
    vol = today["volume"].groupby(today["symbol"]).sum()
    vwap = (pv / vol.where(vol > 0)).reindex(symbols)
    return pd.DataFrame({
        "symbol": symbols,
        "rsi14_10m": _last(ind.rsi(m["close"], RSI_N)),
        "sma20_10m": _last(ind.sma(m["close"], 20)),
        "vwap": vwap.to_numpy(dtype=float),
    })
