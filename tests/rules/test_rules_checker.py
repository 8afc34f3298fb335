"""Static checking: kinds, arguments, bounds, suggestions, limits, caching."""

import pytest

from app.rules import FIELDS, FUNCTIONS, RuleError, check, compile_rule
from app.rules import compiler as compiler_mod


@pytest.mark.parametrize(
    "text,kind",
    [
        ("close > sma(close, 50) and rsi(14) < 30", "condition"),
        ("crosses_above(sma(close, 50), sma(close, 200))", "condition"),
        ("volume > 3 * avg(volume, 20) and change_pct > 4", "condition"),
        (
            "(close - lowest(low, 252)) / (highest(high, 252) - lowest(low, 252)) > 0.9",
            "condition",
        ),
        ('sector == "Technology" and market_cap > 10e9', "condition"),
        ('sector in ("Technology", "Energy")', "condition"),
        ("close - open", "number"),
        ("rsi(14)", "number"),
        ("rsi(close, 14)", "number"),
        ("rsi(n=7)", "number"),
        ("atr(14)", "number"),
        ("atr(high, low, close, 14)", "number"),
        ("macd()", "number"),
        ("macd(12, 26, 9)", "number"),
        ("macd(close, fast=5, slow=35, signal=5)", "number"),
        ("bb_upper(close, 20, 2)", "number"),
        ("round(close, 2)", "number"),
        ("between(rsi(14), 30, 70)", "condition"),
        ("rising(close, 3) or falling(volume)", "condition"),
        ("not (close > open)", "condition"),
        ("1 > 0", "condition"),
        ("5", "number"),
        ("-close", "number"),
        ("sma(close, 1000)", "number"),
        ("sma(close, 2 * 25)", "number"),  # constant window expression is folded
    ],
)
def test_kinds(text, kind):
    assert compile_rule(text).kind == kind


def rule_error(text, **kw):
    with pytest.raises(RuleError) as e:
        compile_rule(text, **kw)
    return e.value


def test_unknown_function_suggests():
    e = rule_error("close > smaa(close, 5)")
    assert e.message == "unknown function `smaa`"
    assert e.column == 9
    assert e.suggestion == "sma"
    assert str(e) == "unknown function `smaa` at column 9 — did you mean `sma`?"


def test_unknown_field_suggests():
    e = rule_error("clsoe > 5")
    assert (e.message, e.column, e.suggestion) == ("unknown field `clsoe`", 1, "close")
    e = rule_error("rsi_14 > 5")
    assert e.suggestion == "rsi14"
    e = rule_error("zzzz > 5")
    assert e.suggestion is None


@pytest.mark.parametrize(
    "text,message,column",
    [
        ("sma(close)", "sma() is missing argument `n`", 1),
        ("sma(close, 5, 6)", "too many arguments for sma(): it takes sma(x, n)", 15),
        ("sma(close, n=5, x=close)", "argument `x` of sma() is given twice", 17),
        ("sma(close, m=5)", "sma() has no argument `m`", 12),
        ("sma(n=5, close)", "a positional argument cannot follow a named one", 10),
        (
            "sma(close, 1001)",
            "window length `n` of sma() must be a whole number from 1 to 1000, got 1001",
            12,
        ),
        (
            "sma(close, 0)",
            "window length `n` of sma() must be a whole number from 1 to 1000, got 0",
            12,
        ),
        (
            "ema(close, 2.5)",
            "window length `n` of ema() must be a whole number from 1 to 1000, got 2.5",
            12,
        ),
        (
            "sma(close, close)",
            "argument `n` of sma() is a window length and must be a number written in the formula (like 14)",
            12,
        ),
        (
            "bb_upper(close, 20, 11)",
            "`k` of bb_upper() must be from 0 to 10, got 11",
            21,
        ),
        ("round(close, 1.5)", "`digits` of round() must be a whole number", 14),
        ("macd(close, 26, 12)", "macd(): `fast` must be shorter than `slow`", 1),
        (
            "sma(close > 1, 5)",
            "argument `x` of sma() must be a number series, but this is a condition",
            5,
        ),
        (
            "close(5)",
            "`close` is a field, not a function: write `close` without parentheses",
            1,
        ),
        (
            "rsi > 30",
            "`rsi` is a function: write it with parentheses, e.g. rsi(14) < 30",
            1,
        ),
        (
            "close and open",
            "`and` combines conditions, but this is a number (add a comparison such as `> 0`)",
            1,
        ),
        (
            "not close",
            "`not` applies to a condition, but this is a number (add a comparison such as `> 0`)",
            5,
        ),
        (
            "(close > 1) + 1",
            "`+` needs numbers on both sides, but this is a condition",
            2,
        ),
        (
            'sector > "A"',
            "`>` compares numbers; text can only be compared with == or !=",
            1,
        ),
        ("sector == 5", "`==` compares text with text, but this is a number", 11),
        (
            "close in ('a')",
            "`in` checks text such as sector or industry; this is a number",
            1,
        ),
        (
            "(close > 1) == (open > 1)",
            "`==` compares numbers, but this is a condition",
            2,
        ),
        ("-sector", "`-` applies to a number, but this is text", 2),
        (
            "sector",
            'the formula gives text; compare it, e.g. sector == "Technology"',
            1,
        ),
    ],
)
def test_check_errors(text, message, column):
    e = rule_error(text)
    assert e.message == message
    assert e.column == column


def test_expected_kind():
    e = rule_error("close + 1", expect="condition")
    assert e.message == ("expected a condition, but the formula gives a number (add a comparison such as `> 0`)")
    e = rule_error("close > 1", expect="number")
    assert e.message == "expected a number, but the formula gives a condition"
    assert compile_rule("close > 1", expect="condition").kind == "condition"


def test_check_verdict_dict():
    assert check("close > 1") == {
        "ok": True,
        "kind": "condition",
        "kind_label": "a condition",
    }
    v = check("smaa(close, 3)")
    assert v["ok"] is False and v["column"] == 1 and v["suggestion"] == "sma"


def test_constant_folding_and_keys_shared():
    a = compile_rule("sma(close, 50) > 1 + 1")
    b = compile_rule("sma(close, n=50) > 2")
    assert a.root.key == b.root.key
    assert compile_rule("rsi(14) < 30").root.key == compile_rule("rsi(close, 14) < 30").root.key


def test_common_subexpressions_planned_once():
    r = compile_rule("(close - lowest(low, 252)) / (highest(high, 252) - lowest(low, 252)) > 0.9")
    keys = [s.key for s in r.steps]
    assert len(keys) == len(set(keys))
    assert sum(k == "lowest(low,n=252)" for k in keys) == 1
    assert r.fields == ("close", "high", "low")


def test_cache_returns_same_object_and_caches_errors(monkeypatch):
    compiler_mod.clear_cache()
    calls = []
    real = compiler_mod.parse
    monkeypatch.setattr(compiler_mod, "parse", lambda t: calls.append(t) or real(t))
    a = compile_rule("close > 1.25")
    b = compile_rule("close > 1.25")
    assert a is b and calls == ["close > 1.25"]
    for _ in range(2):
        with pytest.raises(RuleError):
            compile_rule("close >> 1")
    assert calls == ["close > 1.25", "close >> 1"]
    # the function-library version is part of the key
    monkeypatch.setattr(compiler_mod, "FUNCTION_LIBRARY_VERSION", "test-bump")
    c = compile_rule("close > 1.25")
    assert c is not a and len(calls) == 3


def test_tables_are_complete_and_documented():
    required = (
        "sma ema wma rsi macd macd_signal macd_hist atr bb_upper bb_lower bb_mid highest lowest "
        "avg sum stdev change pct_change ref crosses_above crosses_below abs min max round log "
        "sqrt between rising falling"
    ).split()
    assert set(required) <= set(FUNCTIONS)
    for f in FUNCTIONS.values():
        assert f.description and f.formula and f.example
        compile_rule(f.example)  # every documented example is valid
        for p in f.params:
            if p.kind == "window":
                assert (p.lo, p.hi) in ((1, 1000),)
    for name in (
        "open high low close volume price change_pct market_cap rel_volume sector industry "
        "exchange gap_pct rsi14 sma20 sma50 sma200 ema12 ema26 atr14 macd macd_signal macd_hist "
        "bb_upper bb_lower week52_high week52_low avg_volume"
    ).split():
        assert name in FIELDS, name


def test_unexpected_internal_error_becomes_rule_error(monkeypatch):
    compiler_mod.clear_cache()

    def boom(*a, **k):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(compiler_mod, "check_rule", boom)
    e = rule_error("close > 7.125")
    assert e.message == "internal error while checking the formula"
    compiler_mod.clear_cache()


def test_non_string_input():
    assert rule_error(None).message == "the formula must be text"  # type: ignore[arg-type]
    assert rule_error(["x"]).message == "the formula must be text"  # type: ignore[arg-type]
