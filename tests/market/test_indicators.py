"""Indicators vs first-principles references (plain Python loops, TA-Lib definitions).

Data: the real GOOG daily bars shipped by ``backtesting`` plus tiny hand-computed arrays.
"""

import math

import numpy as np
import pytest
from backtesting.test import GOOG

from app.market import indicators as ind

OPEN = GOOG["Open"].to_numpy(float)
H = GOOG["High"].to_numpy(float)
L = GOOG["Low"].to_numpy(float)
C = GOOG["Close"].to_numpy(float)
V = GOOG["Volume"].to_numpy(float)
NAN = float("nan")


def close_enough(got, want, rtol=1e-9, atol=1e-9):
    got = np.asarray(got, float)
    want = np.asarray(want, float)
    assert got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want)), (
        f"NaN pattern differs: got first valid {np.argmax(~np.isnan(got))}, want {np.argmax(~np.isnan(want))}"
    )
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


# ------------------------------------------------------------------ references (loops)
def r_sma(x, n):
    out = [NAN] * len(x)
    for i in range(n - 1, len(x)):
        out[i] = sum(x[i - n + 1 : i + 1]) / n
    return out


def r_sum(x, n):
    out = [NAN] * len(x)
    for i in range(n - 1, len(x)):
        out[i] = sum(x[i - n + 1 : i + 1])
    return out


def r_wma(x, n):
    out = [NAN] * len(x)
    den = n * (n + 1) / 2
    for i in range(n - 1, len(x)):
        out[i] = sum((k + 1) * x[i - n + 1 + k] for k in range(n)) / den
    return out


def r_stdev(x, n):
    out = [NAN] * len(x)
    for i in range(n - 1, len(x)):
        w = x[i - n + 1 : i + 1]
        m = sum(w) / n
        out[i] = math.sqrt(sum((v - m) ** 2 for v in w) / n)
    return out


def r_ema_from(x, n, seed_index, seed_window):
    """TA-Lib EMA: seed = mean of ``seed_window`` values ending at seed_index."""
    out = [NAN] * len(x)
    k = 2 / (n + 1)
    prev = sum(x[seed_index - seed_window + 1 : seed_index + 1]) / seed_window
    out[seed_index] = prev
    for i in range(seed_index + 1, len(x)):
        prev = (x[i] - prev) * k + prev
        out[i] = prev
    return out


def r_ema(x, n):
    return r_ema_from(x, n, n - 1, n)


def r_rsi(c, n):
    out = [NAN] * len(c)
    gains = [max(c[i] - c[i - 1], 0) for i in range(1, len(c))]
    losses = [max(c[i - 1] - c[i], 0) for i in range(1, len(c))]
    ag = sum(gains[:n]) / n
    al = sum(losses[:n]) / n
    out[n] = 0.0 if ag + al == 0 else 100 * ag / (ag + al)
    for i in range(n + 1, len(c)):
        ag = (ag * (n - 1) + gains[i - 1]) / n
        al = (al * (n - 1) + losses[i - 1]) / n
        out[i] = 0.0 if ag + al == 0 else 100 * ag / (ag + al)
    return out


def r_atr(h, lo, c, n):
    tr = [NAN] + [max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1])) for i in range(1, len(c))]
    out = [NAN] * len(c)
    prev = sum(tr[1 : n + 1]) / n
    out[n] = prev
    for i in range(n + 1, len(c)):
        prev = (prev * (n - 1) + tr[i]) / n
        out[i] = prev
    return out


def r_macd(c, fast, slow, sig):
    ef = r_ema_from(c, fast, slow - 1, fast)  # TA-Lib: fast EMA seeded at the slow's bar
    es = r_ema_from(c, slow, slow - 1, slow)
    line = [NAN if math.isnan(a) or math.isnan(b) else a - b for a, b in zip(ef, es, strict=False)]
    start = slow - 1 + sig - 1
    s = r_ema_from(line, sig, start, sig)
    line = [NAN if i < start else v for i, v in enumerate(line)]
    hist = [NAN if i < start else line[i] - s[i] for i in range(len(c))]
    return line, s, hist


def r_max(x, n):
    return [NAN] * (n - 1) + [max(x[i - n + 1 : i + 1]) for i in range(n - 1, len(x))]


def r_min(x, n):
    return [NAN] * (n - 1) + [min(x[i - n + 1 : i + 1]) for i in range(n - 1, len(x))]


CL = C.tolist()


# ------------------------------------------------------------------ hand-computed arrays
def test_small_hand_computed_values():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    close_enough(ind.sma(x, 3), [NAN, NAN, 2.0, 3.0, 4.0])
    close_enough(ind.rolling_sum(x, 2), [NAN, 3.0, 5.0, 7.0, 9.0])
    close_enough(ind.wma(x, 3), [NAN, NAN, 14 / 6, 20 / 6, 26 / 6])
    # ema(3): seed mean(1,2,3)=2 at bar 2, then 2 + .5*(4-2)=3, 3 + .5*(5-3)=4
    close_enough(ind.ema(x, 3), [NAN, NAN, 2.0, 3.0, 4.0])
    close_enough(ind.stdev(np.array([2.0, 4, 4, 4, 5, 5, 7, 9]), 8), [NAN] * 7 + [2.0])
    close_enough(ind.highest([3.0, 1, 4, 1, 5, 9, 2, 6], 3), [NAN, NAN, 4, 4, 5, 9, 9, 9])
    close_enough(ind.lowest([3.0, 1, 4, 1, 5, 9, 2, 6], 3), [NAN, NAN, 1, 1, 1, 1, 2, 2])
    close_enough(ind.ref(x, 2), [NAN, NAN, 1, 2, 3])
    close_enough(ind.ref(x, 0), x)
    close_enough(ind.change(x, 1), [NAN, 1, 1, 1, 1])
    close_enough(ind.pct_change([100.0, 110, 99], 1), [NAN, 10.0, -10.0])
    close_enough(ind.pct_change([0.0, 1.0], 1), [NAN, NAN])  # division by zero -> NaN
    close_enough(ind.gap_pct([102.0, 50], [100.0, 0]), [2.0, NAN])


def test_rsi_hand_computed():
    # diffs +1,+1,-1: n=2 -> gains (1,1) loss (0,0) -> 100; then ag=(1*1+0)/2=.5, al=.5 -> 50
    close_enough(ind.rsi([1.0, 2, 3, 2], 2), [NAN, NAN, 100.0, 50.0])
    # flat series: TA-Lib returns 0 when both averages are 0
    close_enough(ind.rsi([5.0, 5, 5, 5], 2), [NAN, NAN, 0.0, 0.0])


def test_atr_hand_computed():
    h = [10.0, 12, 13, 12]
    lo = [9.0, 10, 11, 8]
    c = [9.5, 11, 12, 9]
    # TR: -, max(2,2.5,.5)=2.5, max(2,2,0)=2, max(4,0,4)=4 ; n=2: (2.5+2)/2=2.25, (2.25+4)/2
    close_enough(ind.atr(h, lo, c, 2), [NAN, NAN, 2.25, 3.125])
    close_enough(ind.true_range(h, lo, c), [NAN, 2.5, 2.0, 4.0])


def test_relative_volume_excludes_today():
    v = np.array([100.0, 200, 300, 600, 0, 0, 50])
    # avg of previous 3 bars
    close_enough(ind.relative_volume(v, 3), [NAN, NAN, NAN, 3.0, 0.0, 0.0, 0.25])
    close_enough(ind.relative_volume([1.0, 0, 0, 0, 5], 3), [NAN, NAN, NAN, 0.0, NAN])


def test_bollinger_hand_computed():
    up, mid, lo = ind.bollinger(np.array([2.0, 4, 4, 4, 5, 5, 7, 9]), 8, 2)
    close_enough(mid, [NAN] * 7 + [5.0])
    close_enough(up, [NAN] * 7 + [9.0])
    close_enough(lo, [NAN] * 7 + [1.0])


# ------------------------------------------------------------------ GOOG vs references
@pytest.mark.parametrize("n", [1, 2, 5, 20, 50, 200])
def test_window_indicators_on_goog(n):
    close_enough(ind.sma(C, n), r_sma(CL, n))
    close_enough(ind.rolling_sum(V, n), r_sum(V.tolist(), n), rtol=1e-9)
    close_enough(ind.wma(C, n), r_wma(CL, n))
    tol = 1e-9 if n <= 64 else 1e-6  # long windows use running sums (like TA-Lib)
    close_enough(ind.stdev(C, n), r_stdev(CL, n), rtol=tol, atol=tol)
    close_enough(ind.highest(H, n), r_max(H.tolist(), n), rtol=0, atol=0)
    close_enough(ind.lowest(L, n), r_min(L.tolist(), n), rtol=0, atol=0)


@pytest.mark.parametrize("n", [1, 2, 12, 26, 200])
def test_ema_on_goog(n):
    close_enough(ind.ema(C, n), r_ema(CL, n))


@pytest.mark.parametrize("n", [2, 14, 30])
def test_rsi_and_atr_on_goog(n):
    close_enough(ind.rsi(C, n), r_rsi(CL, n))
    close_enough(ind.atr(H, L, C, n), r_atr(H.tolist(), L.tolist(), CL, n))


@pytest.mark.parametrize("fast,slow,sig", [(12, 26, 9), (5, 35, 5), (3, 4, 2)])
def test_macd_on_goog(fast, slow, sig):
    got = ind.macd(C, fast, slow, sig)
    want = r_macd(CL, fast, slow, sig)
    for g, w in zip(got, want, strict=False):
        close_enough(g, w)


def test_bollinger_on_goog():
    up, mid, lo = ind.bollinger(C, 20, 2)
    sd = r_stdev(CL, 20)
    m = r_sma(CL, 20)
    close_enough(mid, m)
    close_enough(up, [a + 2 * b for a, b in zip(m, sd, strict=False)], rtol=1e-8)
    close_enough(lo, [a - 2 * b for a, b in zip(m, sd, strict=False)], rtol=1e-8)


def test_scanner_helpers_on_goog():
    rv = ind.relative_volume(V, 63)
    want = [NAN] * 63 + [V[i] / (sum(V[i - 63 : i]) / 63) for i in range(63, len(V))]
    close_enough(rv, want)
    close_enough(ind.week52_high(H), r_max(H.tolist(), 252), rtol=0, atol=0)
    close_enough(ind.week52_low(L), r_min(L.tolist(), 252), rtol=0, atol=0)
    hi = r_max(H.tolist(), 252)
    close_enough(ind.week52_high_distance_pct(C, H), [(c / h - 1) * 100 for c, h in zip(CL, hi, strict=False)])
    lo = r_min(L.tolist(), 252)
    close_enough(ind.week52_low_distance_pct(C, L), [(c / x - 1) * 100 for c, x in zip(CL, lo, strict=False)])
    gp = ind.gap_pct(OPEN, ind.ref(C, 1))
    close_enough(gp, [NAN] + [(OPEN[i] / C[i - 1] - 1) * 100 for i in range(1, len(C))])


def test_warmup_lengths_match_talib_lookback():
    def lead(a):
        return int(np.argmax(~np.isnan(a)))

    assert lead(ind.sma(C, 20)) == 19
    assert lead(ind.ema(C, 12)) == 11
    assert lead(ind.wma(C, 10)) == 9
    assert lead(ind.stdev(C, 20)) == 19
    assert lead(ind.rsi(C, 14)) == 14
    assert lead(ind.atr(H, L, C, 14)) == 14
    assert all(lead(a) == 33 for a in ind.macd(C))
    assert all(lead(a) == 19 for a in ind.bollinger(C))
    assert lead(ind.highest(H, 252)) == 251
    assert lead(ind.relative_volume(V, 63)) == 63


# ------------------------------------------------------------------ 2-D == 1-D per row
def _panel():
    rng = np.random.default_rng(7)
    k = 6
    t = 400
    scale = rng.uniform(0.5, 3.0, size=(k, 1))
    base = np.vstack([C[i * 150 : i * 150 + t] for i in range(k)]) * scale
    hi = base * (1 + rng.uniform(0, 0.02, size=base.shape))
    lo = base * (1 - rng.uniform(0, 0.02, size=base.shape))
    vol = rng.uniform(1e5, 1e7, size=base.shape)
    # a late listing and a stock with a gap in the data
    for a in (base, hi, lo, vol):
        a[2, :57] = np.nan
        a[4, 300] = np.nan
    return base, hi, lo, vol


CALLS = {
    "sma": lambda c, h, lo, v: ind.sma(c, 20),
    "ema": lambda c, h, lo, v: ind.ema(c, 26),
    "wma": lambda c, h, lo, v: ind.wma(c, 9),
    "stdev": lambda c, h, lo, v: ind.stdev(c, 20),
    "sum": lambda c, h, lo, v: ind.rolling_sum(v, 10),
    "rsi": lambda c, h, lo, v: ind.rsi(c, 14),
    "atr": lambda c, h, lo, v: ind.atr(h, lo, c, 14),
    "macd": lambda c, h, lo, v: np.stack(ind.macd(c)),
    "bb": lambda c, h, lo, v: np.stack(ind.bollinger(c)),
    "highest": lambda c, h, lo, v: ind.highest(h, 50),
    "lowest": lambda c, h, lo, v: ind.lowest(lo, 50),
    "ref": lambda c, h, lo, v: ind.ref(c, 3),
    "pct": lambda c, h, lo, v: ind.pct_change(c, 5),
    "rvol": lambda c, h, lo, v: ind.relative_volume(v, 63),
    "w52": lambda c, h, lo, v: ind.week52_high_distance_pct(c, h),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_2d_equals_1d_per_row(name):
    c, h, lo, v = _panel()
    full = CALLS[name](c, h, lo, v)
    for i in range(c.shape[0]):
        row = CALLS[name](c[i], h[i], lo[i], v[i])
        got = full[..., i, :] if full.ndim == 3 else full[i]
        np.testing.assert_array_equal(np.isnan(got), np.isnan(row))
        np.testing.assert_allclose(got, row, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_late_listing_shifts_warmup_and_matches_unpadded():
    c, h, lo, v = _panel()
    row = c[2]
    assert int(np.argmax(~np.isnan(ind.sma(row, 20)))) == 57 + 19
    assert int(np.argmax(~np.isnan(ind.rsi(row, 14)))) == 57 + 14
    close_enough(ind.ema(row, 12)[57:], ind.ema(row[57:], 12))
    close_enough(ind.rsi(row, 14)[57:], ind.rsi(row[57:], 14))
    for a, b in zip(ind.macd(row), ind.macd(row[57:]), strict=False):
        close_enough(a[57:], b)


def test_nan_inside_history():
    c, h, lo, v = _panel()
    row = c[4]  # NaN at bar 300
    s = ind.sma(row, 20)
    assert np.isnan(s[300:320]).all() and not np.isnan(s[320])
    e = ind.ema(row, 12)
    assert np.isnan(e[300]) and not np.isnan(e[299]) and not np.isnan(e[301])
    # the EMA state skips the missing bar
    k = 2 / 13
    assert e[301] == pytest.approx(e[299] + k * (row[301] - e[299]), rel=1e-12)
    assert np.isnan(ind.highest(row, 5)[300:305]).all()


def test_short_history_all_nan_and_bad_window():
    x = np.arange(5.0)
    assert np.isnan(ind.sma(x, 10)).all()
    assert np.isnan(ind.ema(x, 10)).all()
    assert np.isnan(ind.highest(x, 10)).all()
    assert np.isnan(ind.rsi(x, 5)).all()
    with pytest.raises(ValueError):
        ind.sma(x, 0)
    with pytest.raises(ValueError):
        ind.sma(x, 2.5)
    assert ind.sma([[1, 2, 3]], 2).dtype == np.float64


def test_empty_inputs():
    empty = np.zeros((3, 0))
    for f in (
        lambda x: ind.sma(x, 3),
        lambda x: ind.ema(x, 3),
        lambda x: ind.rsi(x),
        lambda x: ind.highest(x, 2),
        lambda x: ind.stdev(x, 2),
        lambda x: ind.wma(x, 2),
        lambda x: ind.macd(x)[0],
    ):
        assert f(empty).shape == (3, 0)
        assert f(np.zeros((0, 10))).shape == (0, 10)
