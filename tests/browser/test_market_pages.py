"""Stock page (chart, quote, indicators, symbol search) and the admin scanners page in a
real browser, with screenshots."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from app.market import services
from tests import factories
from tests.browser.conftest import assert_clean, shot

pytestmark = pytest.mark.browser
UTC = dt.UTC
ROWS = [
    {"symbol": "AAPL", "name": "Apple Inc.", "exchange": "NASDAQ", "sector": "Computers, Phones & Household Electronics",
     "industry": "Technology Equipment"},
    {"symbol": "AAL", "name": "American Airlines Group", "exchange": "NASDAQ", "sector": "Industrials", "industry": "Airlines"},
    {"symbol": "MSFT", "name": "Microsoft", "exchange": "NASDAQ", "sector": "Technology", "industry": "Software"},
    {"symbol": "JPM", "name": "JPMorgan Chase", "exchange": "NYSE", "sector": "Financials", "industry": "Banks"},
]


@pytest.fixture()
def market(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MARKET_DATA_PROVIDER", "simulated")
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "calendar")
    services.seed_universe(ROWS)
    services.start_cycle("1d", now=dt.datetime(2025, 11, 26, 22, 0, tzinfo=UTC), inline=True)
    services.start_cycle("10m", now=dt.datetime(2025, 11, 28, 17, 0, tzinfo=UTC), force=True, inline=True)
    services.start_cycle("1m", now=dt.datetime(2025, 11, 28, 16, 15, tzinfo=UTC), force=True, inline=True)
    return db


def sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.fill("#email", user.email)
    page.fill("#password", factories.PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/home$"))


def test_stock_page_chart_and_search(page, live_server, market):
    sign_in(page, live_server, factories.user())
    # nav search with HTMX suggestions; "/" focuses it
    page.keyboard.press("/")
    page.keyboard.type("app")
    page.wait_for_selector("#nav-suggest a:has-text('AAPL')")
    shot(page, "market-00-symbol-search")
    page.click("#nav-suggest a:has-text('AAPL')")
    page.wait_for_url(re.compile(r".*/stocks/AAPL$"))
    assert "Apple Inc." in page.locator("h1").inner_text()
    assert page.locator(".badge-sim").first.is_visible()
    page.wait_for_selector("#stock-chart canvas")
    page.wait_for_selector("[data-chart-status]:has-text('daily bars')")
    shot(page, "market-01-stock-page-1y")
    page.click("[data-range='1D']")
    page.wait_for_selector("[data-chart-status]:has-text('10m bars')")
    assert page.locator("[data-range='1D']").get_attribute("aria-pressed") == "true"
    shot(page, "market-02-stock-page-1d")
    assert_clean(page)


def test_stock_page_phone_and_unknown_symbol(phone_page, live_server, market):
    page = phone_page
    sign_in(page, live_server, factories.user())
    page.goto(f"{live_server}/stocks/MSFT")
    page.wait_for_selector("#stock-chart canvas")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"page scrolls sideways at phone width ({width}px)"
    shot(page, "market-03-stock-page-phone")
    assert_clean(page)
    resp = page.goto(f"{live_server}/stocks/NOSUCH")  # the browser logs the 404 itself
    assert resp.status == 404
    assert page.locator("#nf-q").input_value() == "NOSUCH"
    shot(page, "market-04-unknown-symbol")


def test_admin_scanners_page(page, live_server, market):
    sign_in(page, live_server, factories.admin())
    page.goto(f"{live_server}/admin/scanners")
    assert page.locator("h1").inner_text() == "Scanners"
    page.fill("#proxy-url", "http://user:pw@10.1.2.3:3128")
    page.click("text=Add proxy")
    page.wait_for_selector("text=http://10.1.2.3:3128")
    assert "pw@" not in page.content()
    shot(page, "market-05-admin-scanners")
    assert_clean(page)
