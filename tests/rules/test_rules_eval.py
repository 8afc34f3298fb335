"""Evaluation: hand-computed values, every function against a reference, both modes."""

import math

import numpy as np
import pytest

from app.market import indicators as ind
from app.rules import FUNCTIONS, RuleError, SeriesData, compile_rule, evaluate_many

NAN = math.nan


def small():
    close = np.array([[1.0, 2, 3, 4, 5, 6], [6.0, 5, 4, 3, 2, 1], [2.0, 2, 0, 2, 4, 3]])
    return SeriesData(
        {
            "open": close - 0.5,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": np.array([[10.0, 20, 30, 40, 50, 60]] * 3),
            "market_cap": [5e9, 20e9, np.nan],
        },
        {
            "sector": ["Technology", "energy", None],
            "exchange": ["NASDAQ", "NYSE", "NYSE"],
        },
        symbols=["AAA", "BBB", "CCC"],
    )


def ts(text, data=None):
    return compile_rule(text).evaluate(data or small(), "time_series")


def cs(text, data=None):
    return compile_rule(text).evaluate(data or small())


def eq(got, want):
    np.testing.assert_allclose(
        np.asarray(got, float),
        np.asarray(want, float),
        rtol=1e-12,
        atol=1e-12,
        equal_nan=True,
    )


# ------------------------------------------------------------------ hand-computed values
def test_arithmetic_hand_computed():
    eq(ts("close * 2 + 1")[0], [3, 5, 7, 9, 11, 13])
    eq(ts("-close % 4")[0], [3, 2, 1, 0, 3, 2])  # modulo follows the sign of the divisor
    eq(ts("(high - low) / 2")[1], [1] * 6)
    eq(cs("close / ref(close, 1)"), [6 / 5, 1 / 2, 3 / 4])


def test_division_by_zero_is_unknown_and_false():
    eq(ts("1 / (close - close)")[0], [NAN] * 6)
    eq(ts("close % 0")[0], [NAN] * 6)
    assert not cs("close / 0 > 1").any()
    assert not cs("close / 0 < 1").any()
    # row 2 has close == 0 at bar 2: pct_change at bar 3 divides by zero
    eq(ts("pct_change(close, 1)")[2], [NAN, 0, -100, NAN, 100, -25])


def test_windows_hand_computed():
    eq(ts("sma(close, 3)")[0], [NAN, NAN, 2, 3, 4, 5])
    eq(ts("highest(close, 2)")[1], [NAN, 6, 5, 4, 3, 2])
    eq(ts("lowest(close, 3)")[2], [NAN, NAN, 0, 0, 0, 2])
    eq(ts("sum(volume, 2)")[0], [NAN, 30, 50, 70, 90, 110])
    eq(ts("ref(close, 2)")[0], [NAN, NAN, 1, 2, 3, 4])
    eq(ts("change(close, 2)")[1], [NAN, NAN, -2, -2, -2, -2])
    eq(cs("avg(volume, 4)"), [45, 45, 45])


def test_comparisons_nan_is_false():
    # sma(close, 3) is NaN on the first two bars: both > and <= are false there
    assert ts("close > sma(close, 3)")[0].tolist() == [
        False,
        False,
        True,
        True,
        True,
        True,
    ]
    assert ts("close <= sma(close, 3)")[0].tolist() == [False] * 6
    assert ts("close != sma(close, 3)")[0].tolist() == [
        False,
        False,
        True,
        True,
        True,
        True,
    ]


def test_kleene_logic_unknown_never_true():
    # not(unknown) stays unknown -> false in the result
    assert ts("not (close > sma(close, 3))")[0].tolist() == [False] * 6
    # false and unknown -> false; true or unknown -> true
    assert ts("close > 100 and close > sma(close, 3)")[0].tolist() == [False] * 6
    assert ts("close > 0 or close > sma(close, 3)")[0].tolist() == [True] * 6
    assert ts("close > 100 or close > sma(close, 3)")[0].tolist() == [False, False] + [True] * 4


def test_crosses():
    data = SeriesData({"close": [[1.0, 3, 2, 4, 4, 1]], "open": [[2.0, 2, 2, 4, 3, 2]]})
    # close crosses above open: bar 1 (1<=2 then 3>2) and bar 4 (4<=4 then 4>3)
    assert ts("crosses_above(close, open)", data)[0].tolist() == [
        False,
        True,
        False,
        False,
        True,
        False,
    ]
    assert ts("crosses_below(close, open)", data)[0].tolist() == [
        False,
        False,
        False,
        False,
        False,
        True,
    ]
    assert ts("crosses_above(close, 2.5)", data)[0].tolist() == [
        False,
        True,
        False,
        True,
        False,
        False,
    ]


def test_rising_falling_between():
    data = SeriesData({"close": [[1.0, 2, 3, 2, 4, 5]]})
    assert ts("rising(close, 2)", data)[0].tolist() == [
        False,
        False,
        True,
        False,
        True,
        True,
    ]
    assert ts("rising(close)", data)[0].tolist() == [
        False,
        True,
        True,
        False,
        True,
        True,
    ]
    assert ts("falling(close, 1)", data)[0].tolist() == [
        False,
        False,
        False,
        True,
        False,
        False,
    ]
    assert ts("between(close, 2, 4)", data)[0].tolist() == [
        False,
        True,
        True,
        True,
        True,
        False,
    ]


def test_math_functions():
    data = SeriesData({"close": [[-2.5, -1.0, 0.0, 2.345, 4.0, 2.5]]})
    eq(ts("abs(close)", data)[0], [2.5, 1, 0, 2.345, 4, 2.5])
    eq(ts("round(close)", data)[0], [-3, -1, 0, 2, 4, 3])  # halves away from zero
    eq(ts("round(close, 2)", data)[0], [-2.5, -1, 0, 2.35, 4, 2.5])
    eq(ts("sqrt(close)", data)[0], [NAN, NAN, 0, math.sqrt(2.345), 2, math.sqrt(2.5)])
    eq(
        ts("log(close)", data)[0],
        [NAN, NAN, NAN, math.log(2.345), math.log(4), math.log(2.5)],
    )
    eq(ts("min(close, 1)", data)[0], [-2.5, -1, 0, 1, 1, 1])
    eq(ts("max(close, 1)", data)[0], [1, 1, 1, 2.345, 4, 2.5])


def test_text_fields():
    assert cs('sector == "Technology"').tolist() == [True, False, False]
    assert cs('sector == "ENERGY"').tolist() == [False, True, False]  # case-insensitive
    assert cs('sector != "Technology"').tolist() == [
        False,
        True,
        False,
    ]  # unknown -> false
    assert cs('sector in ("energy", "technology")').tolist() == [True, True, False]
    assert cs("exchange == sector").tolist() == [False, False, False]
    assert cs('exchange == "nyse" and close < 3').tolist() == [False, True, False]
    assert ts('sector == "technology"').shape == (3, 6)


def test_per_symbol_values_and_constants_broadcast():
    assert cs("market_cap > 10e9").tolist() == [False, True, False]
    assert ts("market_cap > 10e9")[1].tolist() == [True] * 6
    assert cs("1 > 0").tolist() == [True, True, True]
    eq(cs("7"), [7, 7, 7])
    eq(ts("7"), np.full((3, 6), 7.0))


def test_derived_fields():
    d = small()
    eq(cs("price"), cs("close", d))
    eq(ts("change_pct")[0], [NAN, 100, 50, 100 / 3, 25, 20])
    eq(
        ts("gap_pct")[0],
        (d.number("open")[0] / ind.ref(d.number("close")[0], 1) - 1) * 100,
    )
    assert np.isnan(cs("sma50")).all()  # 6 bars: not enough history
    with pytest.raises(RuleError) as e:
        cs("industry == 'x'")
    assert e.value.message == "field `industry` is not available in this data"
    assert e.value.column == 1


def test_given_fields_take_precedence_over_derivation():
    d = SeriesData({"close": [[1.0, 2.0]], "rsi14": [55.0]})
    eq(cs("rsi14", d), [55.0])


# ------------------------------------------------------------------ every function vs reference
def loop_window(x, n, f):
    out = np.full_like(x, np.nan)
    for r in range(x.shape[0]):
        for t in range(n - 1, x.shape[1]):
            out[r, t] = f(list(x[r, t - n + 1 : t + 1]))
    return out


def loop_shift(x, n):
    out = np.full_like(x, np.nan)
    out[:, n:] = x[:, :-n]
    return out


def _pstdev(w):
    m = sum(w) / len(w)
    return math.sqrt(sum((v - m) ** 2 for v in w) / len(w))


def _wma(w):
    n = len(w)
    return sum((i + 1) * v for i, v in enumerate(w)) / (n * (n + 1) / 2)


def as_bool(cond):
    return np.where(np.isnan(cond), False, cond == 1)


REFERENCES = {
    "sma": (
        "sma(close, 5)",
        lambda o, h, lo, c, v: loop_window(c, 5, lambda w: sum(w) / 5),
    ),
    "avg": (
        "avg(volume, 4)",
        lambda o, h, lo, c, v: loop_window(v, 4, lambda w: sum(w) / 4),
    ),
    "ema": ("ema(close, 10)", lambda o, h, lo, c, v: ind.ema(c, 10)),
    "wma": ("wma(close, 6)", lambda o, h, lo, c, v: loop_window(c, 6, _wma)),
    "rsi": ("rsi(14)", lambda o, h, lo, c, v: ind.rsi(c, 14)),
    "macd": ("macd(close, 5, 13, 4)", lambda o, h, lo, c, v: ind.macd(c, 5, 13, 4)[0]),
    "macd_signal": ("macd_signal()", lambda o, h, lo, c, v: ind.macd(c)[1]),
    "macd_hist": (
        "macd_hist(fast=3, slow=10)",
        lambda o, h, lo, c, v: ind.macd(c, 3, 10, 9)[2],
    ),
    "atr": ("atr(10)", lambda o, h, lo, c, v: ind.atr(h, lo, c, 10)),
    "bb_upper": (
        "bb_upper(close, 8, 1.5)",
        lambda o, h, lo, c, v: loop_window(c, 8, lambda w: sum(w) / 8 + 1.5 * _pstdev(w)),
    ),
    "bb_mid": (
        "bb_mid()",
        lambda o, h, lo, c, v: loop_window(c, 20, lambda w: sum(w) / 20),
    ),
    "bb_lower": (
        "bb_lower()",
        lambda o, h, lo, c, v: loop_window(c, 20, lambda w: sum(w) / 20 - 2 * _pstdev(w)),
    ),
    "stdev": ("stdev(close, 7)", lambda o, h, lo, c, v: loop_window(c, 7, _pstdev)),
    "highest": ("highest(high, 9)", lambda o, h, lo, c, v: loop_window(h, 9, max)),
    "lowest": ("lowest(low, 9)", lambda o, h, lo, c, v: loop_window(lo, 9, min)),
    "sum": ("sum(volume, 3)", lambda o, h, lo, c, v: loop_window(v, 3, sum)),
    "ref": ("ref(close, 4)", lambda o, h, lo, c, v: loop_shift(c, 4)),
    "change": ("change(close, 3)", lambda o, h, lo, c, v: c - loop_shift(c, 3)),
    "pct_change": (
        "pct_change(close, 2)",
        lambda o, h, lo, c, v: (c / loop_shift(c, 2) - 1) * 100,
    ),
    "crosses_above": (
        "crosses_above(close, sma(close, 5))",
        lambda o, h, lo, c, v: (lambda s: (c > s) & (loop_shift(c, 1) <= loop_shift(s, 1)))(
            loop_window(c, 5, lambda w: sum(w) / 5)
        ),
    ),
    "crosses_below": (
        "crosses_below(close, open)",
        lambda o, h, lo, c, v: (c < o) & (loop_shift(c, 1) >= loop_shift(o, 1)),
    ),
    "rising": (
        "rising(close, 3)",
        lambda o, h, lo, c, v: (c > np.fmax(np.fmax(loop_shift(c, 1), loop_shift(c, 2)), loop_shift(c, 3)))
        & ~np.isnan(loop_shift(c, 3)),
    ),
    "falling": (
        "falling(close, 2)",
        lambda o, h, lo, c, v: (c < np.fmin(loop_shift(c, 1), loop_shift(c, 2))) & ~np.isnan(loop_shift(c, 2)),
    ),
    "between": (
        "between(close, open, high)",
        lambda o, h, lo, c, v: (c >= o) & (c <= h),
    ),
    "abs": ("abs(close - open)", lambda o, h, lo, c, v: np.abs(c - o)),
    "min": ("min(open, close)", lambda o, h, lo, c, v: np.minimum(o, c)),
    "max": ("max(open, close)", lambda o, h, lo, c, v: np.maximum(o, c)),
    "round": (
        "round(close, 1)",
        lambda o, h, lo, c, v: np.vectorize(lambda x: math.copysign(math.floor(abs(x) * 10 + 0.5) / 10, x))(c),
    ),
    "log": ("log(close)", lambda o, h, lo, c, v: np.log(c)),
    "sqrt": ("sqrt(close)", lambda o, h, lo, c, v: np.sqrt(c)),
}


def market(n_symbols=4, n_bars=80, seed=3):
    rng = np.random.default_rng(seed)
    c = 50 * np.exp(np.cumsum(rng.normal(0, 0.03, (n_symbols, n_bars)), axis=1))
    o = c * np.exp(rng.normal(0, 0.01, c.shape))
    h = np.maximum(o, c) * 1.01
    lo = np.minimum(o, c) * 0.99
    v = rng.uniform(1e5, 1e6, c.shape)
    return (o, h, lo, c, v), SeriesData({"open": o, "high": h, "low": lo, "close": c, "volume": v})


def test_every_function_has_a_reference():
    assert set(REFERENCES) == set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_function_against_reference(name):
    arrays, data = market()
    text, ref = REFERENCES[name]
    rule = compile_rule(text)
    want = ref(*arrays)
    got_ts = rule.evaluate(data, "time_series")
    got_cs = rule.evaluate(data, "cross_section")
    if rule.kind == "condition":
        want = np.asarray(want, dtype=bool)
        assert got_ts.dtype == bool
        np.testing.assert_array_equal(got_ts, want)
        np.testing.assert_array_equal(got_cs, want[:, -1])
    else:
        np.testing.assert_allclose(got_ts, want, rtol=1e-9, atol=1e-9, equal_nan=True)
        np.testing.assert_allclose(got_cs, want[:, -1], rtol=1e-9, atol=1e-9, equal_nan=True)


# ------------------------------------------------------------------ modes, memo, limits
ISSUE_EXAMPLES = [
    "close > sma(close, 50) and rsi(14) < 30",
    "crosses_above(sma(close, 50), sma(close, 200))",
    "volume > 3 * avg(volume, 20) and change_pct > 4",
    "(close - lowest(low, 252)) / (highest(high, 252) - lowest(low, 252)) > 0.9",
    "close < bb_lower() or macd_hist() > 0",
]


@pytest.mark.parametrize("text", ISSUE_EXAMPLES)
def test_cross_section_equals_last_bar_of_time_series(text):
    _, data = market(n_symbols=30, n_bars=300, seed=9)
    rule = compile_rule(text)
    last = rule.evaluate(data, "time_series")[:, -1]
    fresh = SeriesData({k: data.number(k) for k in ("open", "high", "low", "close", "volume")})
    np.testing.assert_array_equal(rule.evaluate(fresh), last)


def test_cross_section_on_recent_window_matches_full_history_for_window_rules():
    _, data = market(n_symbols=10, n_bars=600, seed=5)
    text = "(close - lowest(low, 252)) / (highest(high, 252) - lowest(low, 252))"
    full = compile_rule(text).evaluate(data, "time_series")[:, -1]
    recent = SeriesData({k: data.number(k)[:, -260:] for k in ("high", "low", "close")})
    np.testing.assert_allclose(compile_rule(text).evaluate(recent), full, rtol=1e-12)


def test_memo_shares_indicator_work_across_rules(monkeypatch):
    calls = []
    real = ind.rsi
    monkeypatch.setattr(ind, "rsi", lambda *a, **k: calls.append(1) or real(*a, **k))
    _, data = market()
    rules = [compile_rule(f"rsi(14) < {t}") for t in (30, 31, 32)]
    out = evaluate_many(rules, data)
    assert len(calls) == 1
    assert [o.shape for o in out] == [(4,)] * 3


def test_evaluate_many_reports_errors_per_rule():
    _, data = market()
    out = evaluate_many([compile_rule("close > 1"), compile_rule("market_cap > 1")], data)
    assert out[0].tolist() == [True] * 4
    assert isinstance(out[1], RuleError)
    assert out[1].message == "field `market_cap` is not available in this data"


def test_time_limit():
    _, data = market(n_symbols=50, n_bars=500)
    rule = compile_rule("ema(close, 10) > ema(close, 20) and rsi(14) > 50")
    with pytest.raises(RuleError) as e:
        rule.evaluate(data, "time_series", time_limit=0)
    assert e.value.message == "evaluating the formula took longer than 0 s"


def test_results_types():
    _, data = market()
    assert compile_rule("close > 1").evaluate(data).dtype == bool
    assert compile_rule("close").evaluate(data).dtype == np.float64
    with pytest.raises(ValueError):
        compile_rule("close").evaluate(data, "sideways")


def test_seriesdata_validates_shapes():
    with pytest.raises(ValueError):
        SeriesData({"close": np.ones((2, 3)), "open": np.ones((3, 3))})
    with pytest.raises(ValueError):
        SeriesData({"close": np.ones((2, 3)), "open": np.ones((2, 4))})
    with pytest.raises(ValueError):
        SeriesData({"close": np.ones((2, 3))}, {"sector": ["a", "b", "c"]})
    with pytest.raises(ValueError):
        SeriesData({"close": np.ones((2, 2, 2))})
    with pytest.raises(ValueError):
        SeriesData({"close": np.ones((2, 0))})


def test_no_symbols_gives_empty_results():
    d = SeriesData({k: np.zeros((0, 50)) for k in ("high", "low", "close")}, {"sector": []})
    rule = compile_rule("close > sma(close, 5) and atr(14) > 1 and sector == 'x'")
    assert rule.evaluate(d).shape == (0,)
    assert rule.evaluate(d, "time_series").shape == (0, 50)
