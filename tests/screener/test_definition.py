"""The screen definition: validation with field messages (never an exception) and the
URL / saved-row round trips."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from app.screener.definition import (
    COLUMNS,
    DEFAULT_COLUMNS,
    FILTER_SPECS,
    NUMBER,
    ScreenDefinition,
    make_filter,
    parse_number,
)


def parse_qs_string(qs: str) -> ScreenDefinition:
    from urllib.parse import parse_qsl

    return ScreenDefinition.parse(MultiDict(parse_qsl(qs, keep_blank_values=True)))


def test_numbers_people_type():
    assert parse_number("1.2B") == 1.2e9
    assert parse_number("300m") == 300e6
    assert parse_number("$1,000") == 1000
    assert parse_number("-4%") == -4
    assert parse_number("1e3") == 1000


def test_invalid_parts_give_field_messages():
    d = ScreenDefinition.parse(MultiDict([
        ("f", "bogus:gt:1"), ("f", "price:gt:abc"), ("f", "price:between:5"), ("f", "price:in:1"),
        ("f", "sector:gt:Tech"), ("f", "rsi:lt:30"), ("q", "close >"), ("sort", "nope"), ("cols", "price,zzz"),
        ("per", "1000"), ("wl", "x")]))
    assert [f.token() for f in d.filters] == ["rsi:lt:30"]
    assert set(d.errors) == {"filter-0", "filter-1", "filter-2", "filter-3", "filter-4", "q", "sort", "cols", "per", "wl"}
    assert "not a number" in d.errors["filter-1"]
    assert "two numbers" in d.errors["filter-2"]
    assert d.formula == "" and d.sort == "market_cap" and d.page_size == 50 and d.columns == ("symbol", "price")


def test_form_rows_and_url_tokens_are_the_same_filter():
    a = ScreenDefinition.parse(MultiDict([("f_field", "price"), ("f_op", "between"), ("f_val", "10, 50"),
                                          ("f_field", "sector"), ("f_op", "in"), ("f_val", "Energy, Technology"),
                                          ("f_field", ""), ("f_op", "gt"), ("f_val", "")]))
    b = parse_qs_string("f=price:between:10|50&f=sector:in:Energy|Technology")
    assert a == b and not a.errors


def test_long_formula_is_refused_not_crashed():
    d = ScreenDefinition.parse(MultiDict([("q", "price > 1 and " * 200)]))
    assert "q" in d.errors and d.formula == ""


def test_defaults_are_left_out_of_the_url():
    assert ScreenDefinition().query_string() == ""
    d = parse_qs_string("f=rsi:lt:30&sort=rsi&dir=asc&page=3")
    assert d.query_string(3) == "f=rsi%3Alt%3A30&sort=rsi&dir=asc&page=3"


_numeric = [s.key for s in FILTER_SPECS if s.kind == NUMBER]
_text = [s.key for s in FILTER_SPECS if s.kind != NUMBER]
_value = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).map(lambda v: round(v, 4))


@st.composite
def definitions(draw):
    filters = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            key, op = draw(st.sampled_from(_numeric)), draw(st.sampled_from(["gt", "gte", "lt", "lte", "eq", "between"]))
            vals = [draw(_value) for _ in range(2 if op == "between" else 1)]
            filters.append(make_filter(key, op, [repr(v) for v in vals]))
        else:
            key = draw(st.sampled_from(_text))
            vals = draw(st.lists(st.sampled_from(["Energy", "Health Care", "Oil & Gas", "NYSE", "Technology"]),
                                 min_size=1, max_size=3, unique=True))
            filters.append(make_filter(key, "in" if len(vals) > 1 else "eq", vals))
    formula = draw(st.sampled_from(["", "close > sma(close, 50)", 'sector in ("Energy", "Tech") and rsi14 < 35',
                                    "volume > 2 * avg(volume, 20)"]))
    cols = draw(st.lists(st.sampled_from([c for c in COLUMNS if c != "symbol"]), min_size=0, max_size=6, unique=True))
    sort = draw(st.sampled_from(list(COLUMNS)))
    return ScreenDefinition(tuple(filters), formula, sort, draw(st.sampled_from(["asc", "desc"])),
                            ("symbol", *cols) if cols else DEFAULT_COLUMNS, draw(st.sampled_from([25, 50, 100, 7])),
                            draw(st.sampled_from([None, 3])))


@settings(max_examples=150, deadline=None)
@given(definitions(), st.integers(1, 40))
def test_url_round_trip(defn, page):
    again = parse_qs_string(defn.query_string(page))
    assert not again.errors
    assert again == defn


@settings(max_examples=150, deadline=None)
@given(definitions())
def test_saved_row_round_trip(defn):
    import json

    again = ScreenDefinition.from_dict(json.loads(json.dumps(defn.to_dict())))
    assert not again.errors and again == defn
