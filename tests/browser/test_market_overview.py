"""The believable market in a real browser, with screenshots: the market strip on home,
the screener sorted by market cap (11 sectors, ETFs), and a stock page."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from app.market import services
from app.market.universe import seed_universe
from tests import factories
from tests.browser.conftest import assert_clean, shot

pytestmark = pytest.mark.browser
UTC = dt.UTC
# a slice of the real seed: the ETFs and the first stocks of each sector
_SEED = seed_universe()
ROWS = [r for r in _SEED if r["asset_type"] == "etf"] + [
    r for r in _SEED if r["symbol"] in {"AAPL", "MSFT", "NVDA", "JPM", "XOM", "JNJ", "AMZN", "GOOGL", "NEE", "AMT",
                                        "LIN", "CAT", "PG", "WMT", "F", "DAL"}]


@pytest.fixture()
def market(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MARKET_DATA_PROVIDER", "simulated")
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "calendar")
    services.seed_universe(ROWS)
    services.start_cycle("1d", now=dt.datetime(2025, 11, 26, 22, 0, tzinfo=UTC), inline=True)
    services.start_cycle("1m", now=dt.datetime(2025, 11, 28, 16, 15, tzinfo=UTC), force=True, inline=True)
    return db


def sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.fill("#email", user.email)
    page.fill("#password", factories.PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/home$"))


def test_market_strip_screener_by_market_cap_and_stock_page(page, live_server, market):
    sign_in(page, live_server, factories.user())
    strip = page.locator(".market-strip")
    assert strip.is_visible()
    assert [t.strip() for t in strip.locator(".sym").all_inner_texts()] == ["SPY", "QQQ", "IWM", "DIA"]
    assert "%" in strip.inner_text()
    shot(page, "market-10-home-market-strip")
    page.goto(f"{live_server}/screener?f=type:eq:stock&sort=market_cap&dir=desc")
    page.wait_for_selector("#screen-table tbody tr")
    caps = page.locator("#screen-table tbody tr").count()
    assert caps >= 10
    assert page.locator(".market-strip").is_visible()
    shot(page, "market-11-screener-market-cap")
    page.goto(f"{live_server}/stocks/AAPL")
    page.wait_for_selector("#stock-chart canvas")
    assert "Information Technology" in page.locator(".stock-head").inner_text()
    shot(page, "market-12-stock-page")
    page.goto(f"{live_server}/stocks/SPY")
    assert "ETF" in page.locator(".stock-head").inner_text()
    assert_clean(page)
