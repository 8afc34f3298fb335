"""Formula lab, /rules/check (HTMX verdict) and /rules/help."""

import html

import pytest

from app.rules import FUNCTIONS


def text(r):
    return html.unescape(r.get_data(as_text=True))


@pytest.mark.parametrize("url", ["/rules", "/rules/check?expr=close", "/rules/help"])
def test_login_required(client, url):
    r = client.get(url)
    assert r.status_code in (302, 303)
    assert r.headers["Location"].startswith("/login?next=")


def test_valid_condition_fragment(hx, login, factories):
    login(factories.user())
    r = hx.get("/rules/check", query_string={"expr": "close > sma(close, 50) and rsi(14) < 30"})
    assert r.status_code == 200
    body = text(r)
    assert body.lstrip().startswith('<div id="rule-verdict"')  # the fragment, not the page
    assert "<html" not in body
    assert "✓ valid" in body and "returns a condition" in body
    assert "HX-Request" in r.headers["Vary"]


def test_valid_number_with_kind(hx, login, factories):
    login(factories.user())
    r = hx.get("/rules/check", query_string={"expr": "(close - sma(close, 20)) / atr(20)", "kind": "number"})
    assert r.status_code == 200 and "returns a number" in text(r)
    r = hx.get("/rules/check", query_string={"expr": "close - open", "kind": "condition"})
    assert r.status_code == 422
    assert "expected a condition, but the formula gives a number" in text(r)


def test_invalid_shows_message_position_and_suggestion(hx, login, factories):
    login(factories.user())
    r = hx.get("/rules/check", query_string={"expr": "close > smaa(close, 5)"})
    assert r.status_code == 422
    body = text(r)
    assert "unknown function <code>smaa</code> at column 9 — did you mean <code>sma</code>?" in body
    assert "<mark>s</mark>maa(close, 5)" in body  # the caret under the error position


def test_syntax_error_lists_expected(hx, login, factories):
    login(factories.user())
    r = hx.get("/rules/check", query_string={"expr": "close >"})
    assert r.status_code == 422
    body = text(r)
    assert "the formula ends too early at column 8" in body
    assert "Expected a number" in body


def test_user_text_is_escaped(hx, login, factories):
    login(factories.user())
    r = hx.get("/rules/check", query_string={"expr": "<script>alert(1)</script>"})
    assert r.status_code == 422
    raw = r.get_data(as_text=True)
    assert "<script>" not in raw
    assert "<mark>&lt;</mark>script&gt;alert(1)&lt;/script&gt;" in raw


def test_empty_expression_is_a_prompt_not_an_error(hx, login, factories):
    login(factories.user())
    r = hx.get("/rules/check", query_string={"expr": "   "})
    assert r.status_code == 200 and "Type a formula" in text(r)


def test_without_htmx_renders_full_page(client, login, factories):
    login(factories.user())
    r = client.get("/rules/check", query_string={"expr": "rsi(14) <", "kind": "condition"})
    assert r.status_code == 422
    body = text(r)
    assert "<html" in body and "Formula lab" in body
    assert "the formula ends too early at column 10" in body
    assert ">rsi(14) <</textarea>" in body  # the text is kept in the input


@pytest.mark.parametrize(
    "expr",
    [
        "x" * 5000,
        "(" * 900,
        "-" * 999 + "1",
        "\x00é",
        "sma(close, 1e400)",
        "'",
        "é" * 10,
        "1/0 > 1",
        "a(" * 400,
        "my_osc(3) > 1",
        "close > 1 ; drop table users",
    ],
)
def test_never_500(hx, login, factories, expr):
    login(factories.user())
    r = hx.get("/rules/check", query_string={"expr": expr, "kind": "weird"})
    assert r.status_code in (200, 422) or (r.status_code == 400 and "\x00" in expr)  # NUL: refused up front


def test_lab_page(client, login, factories):
    login(factories.user())
    r = client.get("/rules")
    assert r.status_code == 200
    body = text(r)
    assert 'hx-trigger="input changed delay:300ms"' in body
    assert "close > sma(close, 50) and rsi(14) < 30" in body  # an example
    r = client.get("/rules", query_string={"expr": "close > 1"})
    assert "✓ valid" in text(r)


def test_help_page_and_partial_list_fields_and_functions(client, hx, login, factories):
    login(factories.user())
    page = text(client.get("/rules/help"))
    assert "<html" in page
    for name, fn in FUNCTIONS.items():
        assert f'id="fn-{name}"' in page
        assert fn.example in page
    assert 'id="field-rel_volume"' in page and 'id="field-sector"' in page
    assert "rsi(x=close, n=14)" in page
    partial = hx.get("/rules/help")
    assert partial.status_code == 200
    body = text(partial)
    assert "<html" not in body and 'id="fn-crosses_above"' in body


def test_check_is_get_only_and_changes_nothing(client, login, factories):
    login(factories.user())
    assert client.post("/rules/check", data={"expr": "close"}).status_code in (400, 405)


def test_any_form_field_can_validate_itself(hx, login, factories):
    login(factories.user())
    r = hx.get(
        "/rules/check",
        query_string={"field": "entry_rule", "entry_rule": "rsi(14) <", "kind": "condition"},
        headers={"HX-Target": "entry_rule-verdict"},
    )
    assert r.status_code == 422
    body = text(r)
    assert body.lstrip().startswith('<div id="entry_rule-verdict"')
    assert "the formula ends too early at column 10" in body
    # a hostile target id is not echoed
    r = hx.get("/rules/check", query_string={"expr": "close > 1"}, headers={"HX-Target": '"><script>'})
    assert text(r).lstrip().startswith('<div id="rule-verdict"')


def test_rule_field_macro_renders_live_validation(app, db):
    from wtforms import Form, TextAreaField

    class StrategyForm(Form):
        entry_rule = TextAreaField("Entry rule")

    with app.test_request_context("/"):
        html_out = app.jinja_env.from_string(
            '{% from "rules/_macros.html" import rule_field %}{{ rule_field(form.entry_rule, kind="condition") }}'
        ).render(form=StrategyForm())
    assert 'hx-get="/rules/check"' in html_out
    assert 'hx-target="#entry_rule-verdict"' in html_out
    assert 'hx-vals="{&#34;field&#34;: &#34;entry_rule&#34;, &#34;kind&#34;: &#34;condition&#34;}"' in html_out
    assert 'id="entry_rule-verdict"' in html_out and "/rules/help" in html_out
