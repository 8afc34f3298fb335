"""In-context indicator help: the "?" links next to indicator names on the screener, the stock
page and the alert and strategy forms point at the right explanation pages."""
from __future__ import annotations

import re

import pytest

from app.learn.context import FIELD_FUNCTIONS
from app.rules.functions import FUNCTIONS


def help_links(page: str) -> dict[str, str]:
    """aria-label -> href of every help badge on the page."""
    return {label: href for href, label in
            re.findall(r'<a class="badge indicator-help" href="([^"]+)"[^>]*aria-label="([^"]+)"', page)}


def test_every_mapped_field_has_an_explanation_page():
    assert all(name in FUNCTIONS for name in FIELD_FUNCTIONS.values())


def test_screener_filter_row_and_columns_link_rsi_and_sma(client, login, trader, universe):
    login(trader)
    page = client.get("/screener?f=rsi:lt:30&f=price_vs_sma50:gt:0&cols=price,rsi,price_vs_sma200,atr_pct").get_data(as_text=True)
    links = help_links(page)
    assert links["Explain RSI (14)"] == "/learn/indicators/rsi"        # filter row
    assert links["Explain Price vs SMA 50"] == "/learn/indicators/sma"  # filter row
    assert links["Explain MACD"] == "/learn/indicators/macd"            # formula strip
    page = client.get("/screener?f=price:gt:0&cols=price,rsi,price_vs_sma200,atr_pct").get_data(as_text=True)
    links = help_links(page)
    assert links["Explain RSI"] == "/learn/indicators/rsi"              # column header
    assert links["Explain vs SMA 200"] == "/learn/indicators/sma"       # column header
    assert links["Explain ATR %"] == "/learn/indicators/atr"
    # plain data (price) gets no help badge
    assert "Explain Price" not in links
    # the help link sits after the sort link, never nested inside it
    assert re.search(r'RSI</a> <a class="badge indicator-help" href="/learn/indicators/rsi"', page)


def test_screener_new_filter_row_fragment_links_its_indicator(hx, login, trader, universe):
    login(trader)
    page = hx.get("/screener/filter-row?i=3").get_data(as_text=True)
    assert 'id="filter-3"' in page  # the default row is Price: no badge
    assert "indicator-help" not in page


def test_stock_page_key_indicators_link_their_explanations(client, login, trader, universe):
    import datetime as dt

    from app.extensions import db
    from app.models import StockIndicator

    row = db.session.get(StockIndicator, universe["AAA"].id)
    row.daily_as_of = dt.datetime(2026, 11, 26, 21, tzinfo=dt.UTC)
    row.macd_hist, row.atr_pct, row.bb_upper, row.bb_lower = 0.1, 5.0, 11.0, 8.0
    db.session.commit()
    login(trader)
    r = client.get("/stocks/AAA")
    assert r.status_code == 200
    links = help_links(r.get_data(as_text=True))
    assert links["Explain RSI"] == "/learn/indicators/rsi"
    assert links["Explain SMA"] == "/learn/indicators/sma"
    assert links["Explain MACD histogram"] == "/learn/indicators/macd_hist"
    assert links["Explain ATR"] == "/learn/indicators/atr"
    assert links["Explain Bollinger Bands"] == "/learn/indicators/bb_upper"


@pytest.mark.parametrize("url", ["/alerts/new", "/strategies/new"])
def test_alert_and_strategy_forms_link_indicator_help(client, login, trader, url):
    login(trader)
    page = client.get(url).get_data(as_text=True)
    links = help_links(page)
    for label, name in (("RSI", "rsi"), ("SMA", "sma"), ("EMA", "ema"), ("MACD", "macd"), ("ATR", "atr")):
        assert links[f"Explain {label}"] == f"/learn/indicators/{name}", (url, label)
    assert 'href="/learn/indicators"' in page


def test_help_badges_carry_no_inline_script_or_style(client, login, trader, universe):
    login(trader)
    page = client.get("/screener?f=rsi:lt:30").get_data(as_text=True)
    for badge in re.findall(r'<a class="badge indicator-help"[^>]*>', page):
        assert "style=" not in badge and "onclick" not in badge
