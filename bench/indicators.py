"""bench indicators: all scanner indicators for 5,000 symbols x 260 daily bars.

Goal: <= 3 s.  Also measured in the same run: the same indicators computed per symbol with
pandas rolling/ewm functions, and the ratio.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.market import indicators as ind
from bench._util import median_seconds, report

N_SYMBOLS = 5_000
N_BARS = 260


def make_bars(n_symbols: int = N_SYMBOLS, n_bars: int = N_BARS, seed: int = 42):
    rng = np.random.default_rng(seed)
    vol = rng.uniform(0.01, 0.04, size=(n_symbols, 1))
    ret = rng.normal(0.0003, 1.0, size=(n_symbols, n_bars)) * vol
    close = rng.uniform(5, 500, size=(n_symbols, 1)) * np.exp(np.cumsum(ret, axis=1))
    open_ = close * np.exp(rng.normal(0, 0.005, size=close.shape))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.02, size=close.shape))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.02, size=close.shape))
    volume = rng.lognormal(13, 1, size=(n_symbols, 1)) * rng.lognormal(0, 0.4, size=close.shape)
    return open_, high, low, close, volume


def all_numpy(o, h, lo, c, v):
    out = {}
    for n in (20, 50, 200):
        out[f"sma{n}"] = ind.sma(c, n)
    for n in (12, 26):
        out[f"ema{n}"] = ind.ema(c, n)
    out["rsi14"] = ind.rsi(c, 14)
    out["macd"], out["macd_signal"], out["macd_hist"] = ind.macd(c)
    out["atr14"] = ind.atr(h, lo, c, 14)
    out["bb_upper"], out["bb_mid"], out["bb_lower"] = ind.bollinger(c, 20, 2)
    out["week52_high"] = ind.week52_high(h)
    out["week52_low"] = ind.week52_low(lo)
    out["dist_high"] = ind.pct_from(c, out["week52_high"])
    out["dist_low"] = ind.pct_from(c, out["week52_low"])
    out["rel_volume"] = ind.relative_volume(v, 63)
    out["gap_pct"] = ind.gap_pct(o, ind.ref(c, 1))
    return out


def all_pandas_per_symbol(o, h, lo, c, v):
    res = []
    for i in range(c.shape[0]):
        cs, hs, ls, os_, vs = (pd.Series(a[i]) for a in (c, h, lo, o, v))
        out = {}
        for n in (20, 50, 200):
            out[f"sma{n}"] = cs.rolling(n).mean()
        for n in (12, 26):
            out[f"ema{n}"] = cs.ewm(span=n, adjust=False).mean()
        d = cs.diff()
        g = d.clip(lower=0).ewm(alpha=1 / 14, adjust=False).mean()
        lz = (-d).clip(lower=0).ewm(alpha=1 / 14, adjust=False).mean()
        out["rsi14"] = 100 * g / (g + lz)
        m = out["ema12"] - out["ema26"]
        s = m.ewm(span=9, adjust=False).mean()
        out["macd"], out["macd_signal"], out["macd_hist"] = m, s, m - s
        pc = cs.shift(1)
        tr = pd.concat([hs - ls, (hs - pc).abs(), (ls - pc).abs()], axis=1).max(axis=1)
        out["atr14"] = tr.ewm(alpha=1 / 14, adjust=False).mean()
        mid = cs.rolling(20).mean()
        sd = cs.rolling(20).std(ddof=0)
        out["bb_upper"], out["bb_mid"], out["bb_lower"] = (
            mid + 2 * sd,
            mid,
            mid - 2 * sd,
        )
        out["week52_high"] = hs.rolling(252).max()
        out["week52_low"] = ls.rolling(252).min()
        out["dist_high"] = (cs / out["week52_high"] - 1) * 100
        out["dist_low"] = (cs / out["week52_low"] - 1) * 100
        out["rel_volume"] = vs / vs.rolling(63).mean().shift(1)
        out["gap_pct"] = (os_ / pc - 1) * 100
        res.append(out)
    return res


def run() -> None:
    bars = make_bars()
    t_np = median_seconds(lambda: all_numpy(*bars), repeat=5)
    report("indicators", "all_indicators_5000x260", t_np, "s", "<= 3 s")
    t_pd = median_seconds(lambda: all_pandas_per_symbol(*bars), repeat=1, warmup=0)
    report("indicators", "pandas_per_symbol_5000x260", t_pd, "s", None)
    report("indicators", "speedup_vs_pandas_per_symbol", t_pd / t_np, "x", "> 1")


if __name__ == "__main__":
    run()
