"""Cross-section (screener, alerts) against time series (backtests) on real history lengths.

* Recursive indicators (EMA, RSI, ATR, MACD) are seeded TA-Lib's way from the start of the
  history they get: the screener's data must be as long as the rule's warm-up
  (``CompiledRule.history_bars``) for its value to equal the full-history one.
* Window sums are made of the window's values only, so exact ties compare the same way
  however long the history is (the screener's slice vs the backtest's full history).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from backtesting.test import GOOG
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.market import indicators as ind
from app.market.series import clear_bar_cache, width_for
from app.models import Bar, Snapshot
from app.rules import CROSS_SECTION, TIME_SERIES, SeriesData, compile_rule
from app.rules.functions import MAX_WINDOW

C = GOOG["Close"].to_numpy(float)
H = GOOG["High"].to_numpy(float)
L = GOOG["Low"].to_numpy(float)


def _ohlc(close, high=None, low=None) -> dict:
    close = np.atleast_2d(close)
    return {"open": close, "close": close, "high": np.atleast_2d(high if high is not None else close),
            "low": np.atleast_2d(low if low is not None else close), "volume": np.ones_like(close)}


def cross_section(rule, fields: dict, width: int):
    """What the screener does: the last ``width`` bars, the value at the last one."""
    return rule.evaluate(SeriesData({k: v[:, -width:] for k, v in fields.items()}), CROSS_SECTION)


def time_series_last(rule, fields: dict):
    return rule.evaluate(SeriesData(fields), TIME_SERIES)[:, -1]


# ------------------------------------------------------------------ warm-up (A8)
def test_history_bars_counts_ta_lib_lookback_plus_the_unstable_period():
    assert compile_rule("close > sma(close, 200)").history_bars() == 200
    assert compile_rule("close > 5").history_bars() == 1
    ema = compile_rule("close > ema(close, 200)").history_bars()
    # (1 - 2/201)^k <= 1e-14 needs k = 3224 bars after the seed bar (the 200th)
    assert ema == 200 + 3224
    assert compile_rule("rsi(14) < 30").history_bars() > 14 * 20
    # nesting adds up: the SMA needs 50 bars of EMA values
    assert compile_rule("sma(ema(close, 200), 50) > 0").history_bars() == ema + 49
    assert width_for([compile_rule("close > ema(close, 200)")]) == ema


def test_ema_100_cross_section_equals_full_history_on_every_goog_bar():
    """The review found 121 of 1,848 GOOG bars disagreeing with 120 bars of history. Each row
    below is the screener's view on one day: the ``width`` bars ending that day (shorter
    histories are NaN-padded, as for a stock listed later)."""
    rule = compile_rule("ema(close, 100)", expect="number")
    width = width_for([rule])
    assert width < len(C)  # the check below really truncates the later days
    days = np.arange(99, len(C))
    padded = np.concatenate([np.full(width - 1, np.nan), C])
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)[days]
    got = rule.evaluate(SeriesData(_ohlc(windows)), CROSS_SECTION)
    want = ind.ema(C, 100)[days]  # the full history: TA-Lib's (and the backtest's) value
    assert np.max(np.abs(got - want)) <= 1e-9
    assert rule.evaluate(SeriesData(_ohlc(C)), TIME_SERIES)[0, -1] == want[-1]


RECURSIVE = st.sampled_from(["ema(close, {n})", "rsi(close, {n})", "atr(n={n})",
                             "macd(close, 1, {n}, 9)", "macd_signal(close, 1, {n}, {m})"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECURSIVE, st.integers(2, MAX_WINDOW), st.integers(2, 60), st.integers(0, 2**31))
def test_recursive_indicators_agree_with_the_full_history_for_any_window(template, n, m, seed):
    text = template.format(n=n, m=m)
    rule = compile_rule(text, expect="number")
    width = rule.history_bars()
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, width + 500)))
    fields = _ohlc(close, close * 1.01, close * 0.99)
    want = time_series_last(rule, fields)
    got = cross_section(rule, fields, width)
    assert np.isfinite(want).all(), text
    assert abs(got[0] - want[0]) <= 1e-9, (text, got, want)


def _goog_bars(stock, scale: float, last: dt.date) -> None:
    closes = C * scale
    db.session.execute(Bar.__table__.insert(), [
        {"stock_id": stock.id, "interval": "1d",
         "ts": dt.datetime.combine(last - dt.timedelta(days=len(C) - 1 - k), dt.time(), tzinfo=dt.UTC),
         "open": c, "high": c, "low": c, "close": c, "volume": 1000.0} for k, c in enumerate(closes)])


@pytest.fixture()
def _no_bar_cache():
    clear_bar_cache()
    yield
    clear_bar_cache()


def test_screener_close_above_ema_200_matches_the_expected_symbols(db, _no_bar_cache, monkeypatch):
    """1,848 bars of GOOG scaled per stock; the snapshot opens the next session's bar. The
    expected set is TA-Lib's EMA over all of it (before: 120 bars, NaN, nothing matched)."""
    from app.database import utcnow
    from app.models import ScanRun
    from app.screener import queries
    from app.screener.definition import ScreenDefinition
    from tests.screener.universe import ROWS, build

    stocks = build(inactive=False)
    ratio = ind.ema(C, 200)[-1] / C[-1]
    # below 1: the snapshot price sits above its EMA; above 1: below it
    factors = {"AAA": 0.9, "BBB": 1.1, "CCC": 0.97, "DDD": 1.04, "EEE": 0.8}
    expected = set()
    for sym, s in stocks.items():
        price = ROWS[sym]["price"]
        scale = price * factors[sym] / (C[-1] * ratio)
        _goog_bars(s, scale, dt.date(2026, 11, 26))
        closes = np.append(C * scale, price)
        if price > ind.ema(closes, 200)[-1]:
            expected.add(sym)
        assert db.session.get(Snapshot, s.id).session == dt.date(2026, 11, 27)
    db.session.add(ScanRun(kind="1d", provider="test", status="succeeded", started_at=utcnow(),
                           finished_at=utcnow()))
    db.session.commit()
    assert expected == {"AAA", "CCC", "EEE"}
    defn = ScreenDefinition.parse({"q": ["close > ema(close, 200)"]})
    got = {r["symbol"] for r in queries.run_screen(defn, all_rows=True).rows}
    assert got == expected
    # the warm-up is long, so only the field the rule reads is loaded, and no wider than stored
    from app.market import series

    cached = series.bars_for(width_for([compile_rule("close > ema(close, 200)")]), ["close"])
    assert "close" in cached and "open" not in cached and "volume" not in cached
    assert cached["close"].shape == (5, len(C))
    # a later rule needing other fields reloads the union (same scan: the cache only grows)
    both = series.bars_for(20, ["high"])
    assert "high" in both and "close" in both and both["width"] >= cached["width"]
    # every stored bar is loaded: a wider request is served from the cache, not the database
    assert both["complete"] is True

    def no_db(*args, **kwargs):
        raise AssertionError("reloaded bars the cache already holds")

    monkeypatch.setattr(series, "_load_bars", no_db)
    assert series.bars_for(20_000, ["close", "high"]) is both


# ------------------------------------------------------------------ exact ties (A9)
def _tie_cases(count: int, n: int, history: int, seed: int) -> np.ndarray:
    """``count`` rows of cent prices whose last close equals, in exact arithmetic, the mean
    of the last ``n`` closes (the other n - 1 sum to a multiple of n - 1 cents)."""
    rng = np.random.default_rng(seed)
    cents = rng.integers(1_000, 50_000, (count, history)).astype(np.int64)
    rest = cents[:, -n:-1]
    rest[:, -1] -= rest.sum(axis=1) % (n - 1)
    cents[:, -1] = rest.sum(axis=1) // (n - 1)
    return cents / 100.0


@pytest.mark.parametrize("op", [">=", "<=", "=="])
def test_ties_on_a_100_bar_average_compare_the_same_in_both_modes(op):
    """400 constructed exact ties (60 disagreed before): the screener's 100-bar slice and
    the backtest's 1,000-bar history give the same answer."""
    close = _tie_cases(400, 100, 1000, seed=11)
    rule = compile_rule(f"close {op} sma(close, 100)")
    fields = _ohlc(close)
    ts = time_series_last(rule, fields)
    cs = cross_section(rule, fields, width_for([rule]))
    assert width_for([rule]) == 100
    np.testing.assert_array_equal(cs, ts)
    np.testing.assert_array_equal(ind.sma(close, 100)[:, -1], ind.sma(close[:, -100:], 100)[:, -1])


@settings(max_examples=40, deadline=None)
@given(st.integers(65, MAX_WINDOW), st.integers(0, 500), st.integers(0, 2**31),
       st.sampled_from(["sma", "avg", "wma", "bb_mid", "sum", "stdev"]))
def test_long_windows_give_the_same_bits_whatever_the_history(n, extra, seed, fn):
    close = _tie_cases(8, n, n + extra + 1, seed)
    rule = compile_rule(f"{fn}(close, {n})", expect="number")
    fields = _ohlc(close)
    np.testing.assert_array_equal(cross_section(rule, fields, width_for([rule])), time_series_last(rule, fields))
    # and any later start of the history (a stock with a shorter stored history)
    start = extra // 2
    np.testing.assert_array_equal(
        cross_section(rule, {k: v[:, start:] for k, v in fields.items()}, n), time_series_last(rule, fields))


def test_a_crossing_on_a_long_window_fires_in_both_modes_alike():
    close = _tie_cases(200, 130, 400, seed=5)
    rule = compile_rule("crosses_above(close, wma(close, 130)) or close >= bb_upper(close, 130, 0)")
    fields = _ohlc(close)
    np.testing.assert_array_equal(cross_section(rule, fields, width_for([rule])), time_series_last(rule, fields))
