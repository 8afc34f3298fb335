"""Custom indicators: definitions, calls, cycles, removed dependencies."""

import numpy as np
import pytest

from app.market import indicators as ind
from app.rules import (
    CustomIndicatorSet,
    RuleError,
    SeriesData,
    compile_rule,
    parse_definition,
)

MY_OSC = "my_osc(n=14) = (close - sma(close, n)) / atr(n)"


def data():
    rng = np.random.default_rng(1)
    c = 20 * np.exp(np.cumsum(rng.normal(0, 0.02, (3, 120)), axis=1))
    return SeriesData({"high": c * 1.01, "low": c * 0.99, "close": c, "open": c})


def test_definition_and_use_matches_manual_formula():
    custom = CustomIndicatorSet([MY_OSC])
    d = data()
    got = compile_rule("my_osc(20)", custom=custom).evaluate(d, "time_series")
    c, h, lo = d.number("close"), d.number("high"), d.number("low")
    want = (c - ind.sma(c, 20)) / ind.atr(h, lo, c, 20)
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    assert compile_rule("my_osc(20) > 1.5", custom=custom).kind == "condition"
    # defaults, named arguments and a bare name all work
    a = compile_rule("my_osc()", custom=custom).root.key
    assert a == compile_rule("my_osc(n=14)", custom=custom).root.key
    assert a == compile_rule("my_osc", custom=custom).root.key
    assert a == compile_rule("(close - sma(close, 14)) / atr(14)").root.key


def test_parse_definition():
    d = parse_definition(MY_OSC)
    assert d.name == "my_osc" and [(p, v) for p, v, _ in d.params] == [("n", 14.0)]
    assert d.signature() == "my_osc(n=14)"
    assert d.calls() == {"close", "sma", "n", "atr"}


@pytest.mark.parametrize(
    "text,message",
    [
        ("sma(n=3) = close", "`sma` is a built-in function; choose another name"),
        ("close = open", "`close` is a field; choose another name"),
        ("f(n) = close", "parameter `n` needs a default value, e.g. n=14"),
        ("f(n=1, n=2) = close", "parameter `n` appears twice"),
        (
            "f(close=1) = close",
            "parameter `close` has the name of a field or function; choose another",
        ),
        ("f(n=1) = ", "the formula ends too early"),
        ("f(n=1) close", "unexpected `close`"),
    ],
)
def test_bad_definitions(text, message):
    with pytest.raises(RuleError) as e:
        parse_definition(text)
    assert e.value.message == message


def test_custom_calls_custom_and_condition_kind():
    custom = CustomIndicatorSet([MY_OSC, "stretched(n=14, k=1.5) = my_osc(n) > k", "double(x=2) = close * x"])
    assert compile_rule("stretched(20, 2) and double() > 1", custom=custom).kind == "condition"
    assert custom.check("stretched") == "condition"
    assert custom.problems() == {}


def test_direct_recursion_is_reported():
    custom = CustomIndicatorSet(["loop(n=3) = loop(n) + 1"])
    with pytest.raises(RuleError) as e:
        compile_rule("loop() > 1", custom=custom)
    assert "custom indicator `loop` calls itself (loop → loop)" in e.value.message
    assert set(custom.problems()) == {"loop"}


def test_cycle_is_reported_with_chain():
    custom = CustomIndicatorSet(["a(n=2) = b(n) + 1", "b(n=3) = c(n) * 2", "c(n=1) = a(n)"])
    with pytest.raises(RuleError) as e:
        compile_rule("a(5) > 0", custom=custom)
    assert "custom indicator `a` calls itself (a → b → c → a)" in e.value.message
    assert e.value.column == 1
    assert set(custom.problems()) == {"a", "b", "c"}


def test_removed_dependency_is_a_rule_error_not_a_crash():
    custom = CustomIndicatorSet([MY_OSC, "signal(n=10) = my_osc(n) > 1"])
    assert compile_rule("signal(20)", custom=custom).kind == "condition"
    without = custom.without("my_osc")
    assert without.version != custom.version
    with pytest.raises(RuleError) as e:
        compile_rule("signal(20)", custom=without)
    assert e.value.message == "in custom indicator `signal`: unknown function `my_osc`"
    problems = without.problems()
    assert list(problems) == ["signal"]
    assert problems["signal"].message == "unknown function `my_osc`"
    assert problems["signal"].column == 16  # position inside the definition text


def test_stored_definition_that_no_longer_parses_is_kept_and_reported():
    custom = CustomIndicatorSet(["broken(n=3) = close >", MY_OSC], keep_invalid=True)
    assert set(custom.problems()) == {"broken"}
    with pytest.raises(RuleError) as e:
        compile_rule("broken() > 1", custom=custom)
    assert e.value.message == "custom indicator `broken` is invalid: the formula ends too early"
    assert compile_rule("my_osc() > 1", custom=custom).kind == "condition"
    with pytest.raises(RuleError):
        CustomIndicatorSet(["broken(n=3) = close >"])


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "my_osc(close)",
            "arguments of custom indicator `my_osc` must be numbers written in the formula (like 20)",
        ),
        ("my_osc(1, 2)", "too many arguments for my_osc(): it takes my_osc(n=14)"),
        ("my_osc(m=2)", "my_osc() has no argument `m`"),
        ("my_osc(3, n=2)", "argument `n` of my_osc() is given twice"),
        (
            "my_osc(0)",
            "in custom indicator `my_osc`: window length `n` of sma() must be a whole number from 1 to 1000, got 0",
        ),
        ("my_osx(3)", "unknown function `my_osx`"),
    ],
)
def test_bad_calls(text, message):
    custom = CustomIndicatorSet([MY_OSC])
    with pytest.raises(RuleError) as e:
        compile_rule(text, custom=custom)
    assert e.value.message == message
    if text.startswith("my_osx"):
        assert e.value.suggestion == "my_osc"


def test_cache_key_includes_custom_version():
    v1 = CustomIndicatorSet(["k(n=3) = close * 2"])
    v2 = CustomIndicatorSet(["k(n=3) = close * 3"])
    r1 = compile_rule("k() > 1", custom=v1)
    r2 = compile_rule("k() > 1", custom=v2)
    assert r1 is not r2 and r1.root.key != r2.root.key
    assert compile_rule("k() > 1", custom=v1) is r1


def test_expansion_blowup_is_limited():
    # each level triples the expanded size: l5 has 849 parts, l6 2550
    defs = ["l0(n=1) = close"] + [f"l{i}(n=1) = l{i - 1}() + l{i - 1}() + l{i - 1}()" for i in range(1, 8)]
    custom = CustomIndicatorSet(defs)
    assert compile_rule("l5() > 0", custom=custom).kind == "condition"
    with pytest.raises(RuleError) as e:
        compile_rule("l6() > 0", custom=custom)
    assert e.value.message == (
        "in custom indicator `l6`: the formula expands to more than 2000 parts "
        "(custom indicators included); simplify it"
    )


def test_deep_custom_nesting_is_limited():
    defs = ["m0(n=1) = close"] + [f"m{i}(n=1) = m{i - 1}()" for i in range(1, 15)]
    custom = CustomIndicatorSet(defs)
    with pytest.raises(RuleError) as e:
        compile_rule("m14() > 0", custom=custom)
    assert e.value.message == ("in custom indicator `m14`: custom indicators are nested more than 10 deep")


def test_duplicate_names_rejected():
    with pytest.raises(RuleError):
        CustomIndicatorSet(["x1(n=1) = close", "x1(n=2) = open"])
    s = CustomIndicatorSet(["x1(n=1) = close"]).with_definition("x1(n=2) = open")
    assert len(s) == 1 and s.get("x1").text == "x1(n=2) = open"
