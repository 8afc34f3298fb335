"""Indicator explanations: one page per rule-language function, rendered from the same
function table the checker and evaluator use (app.rules.functions)."""
from __future__ import annotations

import dataclasses
import html
import re

import pytest

from app.learn import explain
from app.rules.compiler import check
from app.rules.functions import FUNCTION_LIST, FUNCTIONS

PLACEHOLDER = re.compile(r"\b[xnabc]\b")  # a, b, c, n, x stand for any argument in prose


@pytest.mark.parametrize("fn", FUNCTION_LIST, ids=lambda f: f.name)
def test_every_function_has_a_complete_explanation(fn):
    assert explain.missing(fn) == [], f"{fn.name} lacks {explain.missing(fn)} in app/rules/functions.py"
    assert len(fn.mistakes) >= 2 and all(m.strip() for m in fn.mistakes)
    assert fn.details != fn.description


def test_missing_parts_are_reported():
    bare = dataclasses.replace(FUNCTIONS["sma"], details="", mistakes=())
    assert explain.missing(bare) == ["details", "mistakes"]


def test_formulas_quoted_in_explanations_are_valid():
    quoted = [(fn.name, span) for fn in FUNCTION_LIST
              for text in (fn.details, fn.usage, *fn.mistakes) for span in re.findall(r"`([^`]+)`", text)]
    assert len(quoted) >= 60
    bad = [(name, span, check(span, None)["text"]) for name, span in quoted
           if not PLACEHOLDER.search(span) and span not in ("fast", "slow") and not check(span, None)["ok"]]
    assert bad == []


def test_index_links_every_function(client, login, trader):
    login(trader)
    body = client.get("/learn/indicators").get_data(as_text=True)
    for fn in FUNCTION_LIST:
        assert f'href="/learn/indicators/{fn.name}"' in body, fn.name


@pytest.mark.parametrize("fn", FUNCTION_LIST, ids=lambda f: f.name)
def test_each_page_shows_the_table_entry(client, login, trader, fn):
    login(trader)
    r = client.get(f"/learn/indicators/{fn.name}")
    body = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 200
    for text in (fn.signature(), fn.formula, fn.description.replace("`", ""), fn.example):
        assert text in re.sub(r"</?code>", "", body), text
    for part in ("What it is", "Formula", "Parameters and defaults", "How to use it", "Common mistakes"):
        assert f"<h2>{part}</h2>" in body
    for mistake in fn.mistakes:
        assert mistake.replace("`", "") in re.sub(r"</?code>", "", body)


def test_defaults_come_from_the_table(client, login, trader):
    login(trader)
    body = client.get("/learn/indicators/macd").get_data(as_text=True)
    defaults = re.findall(r'<td class="default">([^<]+)</td>', body)
    assert defaults == ["close", "12 bars", "26 bars", "9 bars"]
    body = client.get("/learn/indicators/bb_upper").get_data(as_text=True)
    assert re.findall(r'<td class="default">([^<]+)</td>', body) == ["close", "20 bars", "2"]
    body = client.get("/learn/indicators/sma").get_data(as_text=True)
    assert re.findall(r'<td class="default">([^<]+)</td>', body) == ["required", "required"]


def test_unknown_indicator_is_404(client, login, trader):
    login(trader)
    r = client.get("/learn/indicators/nosuch")
    assert r.status_code == 404
    assert client.get("/learn/indicators/RSI").status_code == 200  # names are not case-sensitive, as in formulas


def test_rule_language_help_links_every_function_to_its_explanation(client, login, trader):
    login(trader)
    body = client.get("/rules/help").get_data(as_text=True)
    for fn in FUNCTION_LIST:
        assert f'href="/learn/indicators/{fn.name}">explained</a>' in body, fn.name


def test_indicator_help_macro_links_to_the_explanation(app):
    from flask import render_template_string

    with app.test_request_context():
        out = render_template_string('{% from "learn/_help.html" import indicator_help %}{{ indicator_help("atr", "ATR") }}')
    assert out.startswith('<a class="badge indicator-help" href="/learn/indicators/atr"')
    assert 'aria-label="Explain ATR"' in out
