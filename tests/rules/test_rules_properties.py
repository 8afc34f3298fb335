"""Property tests: any text gives a compiled rule or a RuleError; both modes agree."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rules import (
    FIELDS,
    FUNCTIONS,
    CustomIndicatorSet,
    RuleError,
    SeriesData,
    compile_rule,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CUSTOM = CustomIndicatorSet(
    [
        "my_osc(n=14) = (close - sma(close, n)) / atr(n)",
        "loop(n=2) = loop(n) + 1",
        "hot(k=2) = my_osc(10) > k",
    ]
)


def make_data():
    rng = np.random.default_rng(2024)
    s, t = 6, 300
    c = 30 * np.exp(np.cumsum(rng.normal(0, 0.02, (s, t)), axis=1))
    o = c * np.exp(rng.normal(0, 0.01, (s, t)))
    h = np.maximum(o, c) * 1.01
    lo = np.minimum(o, c) * 0.99
    v = rng.uniform(1e5, 1e6, (s, t))
    for a in (c, o, h, lo, v):
        a[1, :40] = np.nan  # a late listing
    v[2, -3:] = 0.0  # zero volume: divisions by zero
    return SeriesData(
        {
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": v,
            "market_cap": rng.lognormal(22, 1, s),
        },
        {
            "sector": [
                "Technology",
                "Energy",
                None,
                "Technology",
                "Utilities",
                "Energy",
            ],
            "industry": ["a", "b", "c", "d", "e", "f"],
            "exchange": ["NYSE"] * 6,
        },
    )


DATA = make_data()
NUMBER_FIELDS = [n for n, f in FIELDS.items() if f.kind == "number"]
TOKENS = (
    list(FUNCTIONS)
    + list(FIELDS)
    + [
        "my_osc",
        "loop",
        "hot",
        "(",
        ")",
        ",",
        "=",
        "==",
        "!=",
        ">",
        ">=",
        "<",
        "<=",
        "+",
        "-",
    ]
    + [
        "*",
        "/",
        "%",
        "and",
        "or",
        "not",
        "in",
        "[",
        "]",
        '"Technology"',
        "'x'",
        "0",
        "1",
    ]
    + ["14", "2.5", "10e9", "1e999", "1001", "-3", "'", '"', "&&", "$", "é", "\x00"]
)


def assert_compiles_or_rule_error(text):
    try:
        rule = compile_rule(text, custom=CUSTOM)
    except RuleError as e:
        assert "internal error" not in e.message, text
        assert e.position is None or 0 <= e.position <= max(len(text), 1000)
        return None
    return rule


@SETTINGS
@given(st.text(max_size=200))
def test_random_strings_only_raise_rule_error(text):
    assert_compiles_or_rule_error(text)


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join))
def test_random_token_soup_only_raises_rule_error(text):
    assert_compiles_or_rule_error(text)


# --------------------------------------------------------------------------- random ASTs
numbers = st.one_of(
    st.integers(0, 300).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.6g}"),
    st.sampled_from(["10e9", "0.5", "1e-3", "0"]),
)
fields = st.sampled_from(NUMBER_FIELDS)
windows = st.integers(1, 60).map(str)


def number_exprs():
    base = st.one_of(numbers, fields, fields)

    def extend(inner):
        unary_fn = st.sampled_from(["abs", "log", "sqrt"])
        window_fn = st.sampled_from(
            [
                "sma",
                "ema",
                "wma",
                "avg",
                "sum",
                "stdev",
                "highest",
                "lowest",
                "ref",
                "change",
                "pct_change",
                "bb_mid",
            ]
        )
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda x: f"-{x}"),
            st.tuples(unary_fn, inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(window_fn, inner, windows).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(inner, st.integers(0, 3)).map(lambda t: f"round({t[0]}, {t[1]})"),
            windows.map(lambda n: f"rsi({n})"),
            windows.map(lambda n: f"atr(n={n})"),
            st.sampled_from(
                [
                    "macd()",
                    "macd_signal(close, 5, 10, 3)",
                    "macd_hist()",
                    "bb_upper()",
                    "bb_lower(close, 10, 1)",
                    "my_osc(7)",
                ]
            ),
        )

    return st.recursive(base, extend, max_leaves=8)


def condition_exprs():
    num = number_exprs()
    cmp = st.tuples(num, st.sampled_from([">", ">=", "<", "<=", "==", "!="]), num).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}"
    )
    base = st.one_of(
        cmp,
        cmp,
        st.tuples(num, num).map(lambda t: f"crosses_above({t[0]}, {t[1]})"),
        st.tuples(num, num).map(lambda t: f"crosses_below({t[0]}, {t[1]})"),
        st.tuples(num, windows).map(lambda t: f"rising({t[0]}, {t[1]})"),
        st.tuples(num, windows).map(lambda t: f"falling({t[0]}, {t[1]})"),
        st.tuples(num, num, num).map(lambda t: f"between({t[0]}, {t[1]}, {t[2]})"),
        st.sampled_from(
            [
                'sector == "Technology"',
                "sector in ('energy', 'utilities')",
                "sector != 'x'",
                "hot()",
                "hot(k=0.5)",
            ]
        ),
    )

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            inner.map(lambda x: f"not {x}"),
        )

    return st.recursive(base, extend, max_leaves=4)


def check_modes_agree(text):
    rule = assert_compiles_or_rule_error(text)
    if rule is None:
        return
    DATA.cache.clear()
    try:
        series = rule.evaluate(DATA, "time_series")
        DATA.cache.clear()
        last = rule.evaluate(DATA, "cross_section")
    except RuleError as e:
        assert "internal error" not in e.message
        return
    assert series.shape == (DATA.n_symbols, DATA.n_bars)
    assert last.shape == (DATA.n_symbols,)
    if rule.kind == "condition":
        assert series.dtype == bool and last.dtype == bool
        np.testing.assert_array_equal(last, series[:, -1], err_msg=text)
    else:
        np.testing.assert_allclose(last, series[:, -1], rtol=1e-7, atol=1e-9, equal_nan=True, err_msg=text)


@SETTINGS
@given(condition_exprs())
def test_random_conditions_agree_between_modes(text):
    check_modes_agree(text)


@SETTINGS
@given(number_exprs())
def test_random_numbers_agree_between_modes(text):
    check_modes_agree(text)


@SETTINGS
@given(
    st.recursive(
        st.one_of(numbers, fields, st.sampled_from(list(FIELDS)), st.just('"Technology"')),
        lambda inner: st.one_of(
            st.tuples(
                st.sampled_from(list(FUNCTIONS) + ["my_osc", "loop", "hot", "nope", "close"]),
                st.lists(
                    st.tuples(st.sampled_from([None, "x", "n", "k", "fast", "a", "zz"]), inner),
                    max_size=4,
                ),
            ).map(lambda t: f"{t[0]}(" + ", ".join((f"{k}={v}" if k else v) for k, v in t[1]) + ")"),
            st.tuples(inner, st.sampled_from(["+", ">", "and", "==", "in"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda x: f"not {x}"),
        ),
        max_leaves=10,
    )
)
def test_random_calls_with_any_arguments_only_raise_rule_error(text):
    check_modes_agree(text)
