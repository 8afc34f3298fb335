"""Alerts in a real browser on the demo market: create an alert from a stock page, advance
the simulated market through the level, watch the header bell update without reloading,
open it, acknowledge the alert on the triggered page; screenshots in tests/browser/artifacts/."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from tests.browser.conftest import assert_clean, shot

pytestmark = pytest.mark.browser


def _move(stock_id: int, price: float) -> None:
    from app.database import utcnow
    from app.models import Snapshot

    snap = _db.session.get(Snapshot, stock_id)
    _db.session.refresh(snap)
    snap.prev_price, snap.price, snap.as_of, snap.updated_at = snap.price, price, utcnow(), utcnow()
    _db.session.commit()


def _cycle() -> None:
    from app.market import hooks

    assert hooks.emit(hooks.after_quotes_cycle, "1m", run_id=None, version=None, as_of=None, session=None) == []


def test_alert_fires_live_in_the_header(live_server, page, factories):
    from app.market.services import load_demo_market
    from app.models import AlertEvent, AlertRule, Snapshot, Stock
    from tests.factories import PASSWORD

    load_demo_market()
    aapl = _db.session.scalar(select(Stock).where(Stock.symbol == "AAPL"))
    price = _db.session.get(Snapshot, aapl.id).price
    level = round(price * 1.01, 2)
    user = factories.user("alerts-trader@example.com")
    page.set_viewport_size({"width": 1366, "height": 900})

    page.goto(f"{live_server}/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/home$"))

    page.goto(f"{live_server}/stocks/AAPL")
    page.click("text=Create alert")
    page.wait_for_url(re.compile(r".*/alerts/new\?symbol=AAPL$"))
    assert page.input_value("#symbol") == "AAPL"
    page.select_option("#kind", "crosses_above")
    page.fill("#value", f"{level:.2f}")
    page.fill("#message", "{symbol} broke out: {price} at {time}")
    shot(page, "alerts-new")
    page.click("#alert-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/alerts$"))
    assert f"price crosses above {level:,.2f}" in page.inner_text(".alerts-table")
    shot(page, "alerts-list")
    assert page.locator("#bell-count.has-unread").count() == 0

    # the simulated market moves through the level; the next cycle fires the alert
    _move(aapl.id, price * 1.02)
    _cycle()
    rule = _db.session.scalar(select(AlertRule).where(AlertRule.owner_id == user.id))
    assert _db.session.scalar(select(AlertEvent).where(AlertEvent.rule_id == rule.id)) is not None
    # the bell polls (every 5 s): the count appears without a reload
    page.wait_for_selector("#bell-count.has-unread", timeout=20_000)
    assert page.inner_text("#bell-count").startswith("1")
    page.click(".bell > summary")
    page.wait_for_selector(".bell[open] .bell-list li.unread")
    assert f"crossed above {level:,.2f}" in page.inner_text(".bell-list")
    shot(page, "alerts-bell-open")

    page.click("text=All triggered alerts")
    page.wait_for_url(re.compile(r".*/alerts/triggered$"))
    row = page.locator(".events-table tbody tr").first
    assert "AAPL" in row.inner_text() and "crossed above" in row.inner_text()
    shot(page, "alerts-triggered")
    row.locator("button", has_text="Mark read").click()
    page.wait_for_selector(".events-table tbody tr >> text=Read")
    page.wait_for_selector("#bell-count:not(.has-unread)", state="attached", timeout=20_000)
    assert_clean(page)

    # phone width: the alerts list and the settings stay usable (one page only: a second
    # page would leave this one hidden, and hidden tabs skip their polls)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/alerts")
    shot(page, "alerts-list-phone")
    page.goto(f"{live_server}/alerts/settings")
    shot(page, "alerts-settings-phone")
    assert_clean(page)
