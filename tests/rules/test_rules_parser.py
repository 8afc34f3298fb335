"""Parser: structure, precedence, literals, positions and syntax errors."""

import pytest

from app.rules import RuleError
from app.rules import syntax as sx
from app.rules.syntax import parse, parse_definition_syntax


def show(n) -> str:
    """Compact, fully parenthesised rendering of a syntax tree."""
    if isinstance(n, sx.Num):
        return repr(n.value)
    if isinstance(n, sx.Str):
        return f'"{n.value}"'
    if isinstance(n, sx.Name):
        return n.name
    if isinstance(n, sx.Unary):
        return f"({n.op} {show(n.operand)})"
    if isinstance(n, sx.Binary):
        return f"({show(n.left)} {n.op} {show(n.right)})"
    if isinstance(n, sx.In):
        return f"({show(n.operand)} in {list(n.values)})"
    if isinstance(n, sx.Call):
        args = [(f"{a.name}=" if a.name else "") + show(a.value) for a in n.args]
        return f"{n.name}({', '.join(args)})"
    raise AssertionError(n)


@pytest.mark.parametrize(
    "text,tree",
    [
        ("1 + 2 * 3", "(1.0 + (2.0 * 3.0))"),
        ("(1 + 2) * 3", "((1.0 + 2.0) * 3.0)"),
        ("10 - 4 - 3", "((10.0 - 4.0) - 3.0)"),
        ("8 / 4 % 3", "((8.0 / 4.0) % 3.0)"),
        ("-close * 2", "((- close) * 2.0)"),
        ("--1", "(- (- 1.0))"),
        ("+1", "(+ 1.0)"),
        ("a > 1 and b < 2 or c", "(((a > 1.0) and (b < 2.0)) or c)"),
        ("a or b and c", "(a or (b and c))"),
        ("not a and b", "((not a) and b)"),
        ("not not a", "(not (not a))"),
        ("close >= 1 == 2", None),  # comparisons do not chain
        ("(a > 1) == (b < 2)", "((a > 1.0) == (b < 2.0))"),  # ...unless parenthesised
        ("not a > 1 or b", "((not (a > 1.0)) or b)"),
        ("-a * b + c % d", "(((- a) * b) + (c % d))"),
        ("1 + not x", "(1.0 + (not x))"),  # grammatical; the checker rejects it
        ("a in ('x') and b in ('y')", "((a in ['x']) and (b in ['y']))"),
        ("-a in ('x')", "((- a) in ['x'])"),
        ("x == 1", "(x == 1.0)"),
        ("x != 1", "(x != 1.0)"),
        ("x <= 1.5", "(x <= 1.5)"),
        ("market_cap > 10e9", "(market_cap > 10000000000.0)"),
        ("x > 1.5E-3", "(x > 0.0015)"),
        ("x > .5", "(x > 0.5)"),
        ("x > 5.", "(x > 5.0)"),
        ('sector == "Technology"', '(sector == "Technology")'),
        ("sector == 'Tech Co'", '(sector == "Tech Co")'),
        ('sector in ("A", "b")', "(sector in ['a', 'b'])"),
        ("sector IN ['x']", "(sector in ['x'])"),
        ("SMA(Close, 50)", "sma(close, 50.0)"),
        ("rsi()", "rsi()"),
        ("bb_upper(close, n=20, k=2.5)", "bb_upper(close, n=20.0, k=2.5)"),
        ("f(g(h(1)))", "f(g(h(1.0)))"),
        ("notable or android", "(notable or android)"),
        ("NOT x AND y OR z", "(((not x) and y) or z)"),
        ("  close\t>\n1  ", "(close > 1.0)"),
    ],
)
def test_structure(text, tree):
    if tree is None:
        with pytest.raises(RuleError):
            parse(text)
    else:
        assert show(parse(text)) == tree


def test_positions():
    t = parse("close > sma(close, 50)")
    assert t.pos == 6  # the operator
    assert t.left.pos == 0
    call = t.right
    assert call.pos == 8 and call.args[0].pos == 12 and call.args[1].value.pos == 19


def test_definition_syntax():
    d = parse_definition_syntax("My_Osc(n=14, k=-2.5) = (close - sma(close, n)) / atr(n)")
    assert d.name == "my_osc"
    assert [(p, v) for p, v, _ in d.params] == [("n", 14.0), ("k", -2.5)]
    assert show(d.body) == "((close - sma(close, n)) / atr(n))"
    d2 = parse_definition_syntax("double_close = close * 2")
    assert d2.params == () and show(d2.body) == "(close * 2.0)"


def err(text):
    with pytest.raises(RuleError) as e:
        parse(text)
    return e.value


def test_error_end_of_input():
    e = err("close >")
    assert e.message == "the formula ends too early"
    assert e.position == 7 and e.column == 8
    assert "a number" in e.expected and "a field or function name" in e.expected


def test_error_unexpected_character_with_position_and_expected():
    e = err("close $ 3")
    assert e.message == "unexpected character `$`"
    assert e.column == 7
    assert "a comparison (> >= < <= == !=)" in e.expected
    assert "`and`" in e.expected


def test_error_unexpected_token():
    e = err("close > sma(close, 50) )")
    assert e.message == "unexpected `)`"
    assert e.column == 24
    assert "the end of the formula" in e.expected


@pytest.mark.parametrize(
    "text,message,column",
    [
        ("close = 3", "use `==` to compare (a single `=` names an argument)", 7),
        ("a > 1 && b > 2", "use `and` / `or` to combine conditions", 7),
        ("a > 1 || b > 2", "use `and` / `or` to combine conditions", 7),
        ("!a", "use `not` to negate a condition (or `!=` to compare)", 1),
        ("sector == 'Tech", "text in quotes is not closed", 11),
        ("", "the formula is empty", 1),
        ("   ", "the formula is empty", 1),
        ("1e999 > 1", "the number `1e999` is too large", 1),
        ("a < b < c", "comparisons cannot be chained; combine them with `and`", 7),
        ("a == b in ('x')", "comparisons cannot be chained; combine them with `and`", 8),
        ("sma(close,", "the formula ends too early", 11),
        ("close > ", "the formula ends too early", 9),
        ("close > and", "unexpected `and`", 9),
        ("sma(close 5)", "unexpected `5`", 11),
    ],
)
def test_error_messages(text, message, column):
    e = err(text)
    assert e.message == message
    assert e.column == column


def test_describe_mentions_column_and_expected():
    e = err("close >")
    assert str(e).startswith("the formula ends too early at column 8 — expected a number")
    assert e.to_dict()["column"] == 8


def test_length_limit():
    ok = "1 + " * 24 + "1"
    assert parse(ok).size == 49
    e = err("x" * 1001)
    assert "too long (1001 characters; the limit is 1000)" in e.message


def test_depth_limit():
    assert parse("-" * 49 + "1").depth == 50
    e = err("-" * 50 + "1")
    assert e.message == "the formula is nested too deeply (more than 50 levels)"
    e = err("1" + " + 1" * 60)
    assert "nested too deeply" in e.message


def test_node_limit():
    # 20 terms of 14 ones multiplied: 559 nodes, depth 34, 559 characters
    text = "+".join(["*".join(["1"] * 14)] * 20)
    assert len(text) == 559
    e = err(text)
    assert e.message == "the formula is too large (more than 500 parts); split it up"
    smaller = "+".join(["*".join(["1"] * 12)] * 20)  # 479 nodes
    assert parse(smaller).size == 479


def test_non_text_input():
    with pytest.raises(RuleError):
        parse(None)  # type: ignore[arg-type]
