"""Paper trading in a real browser on the demo market: open an account, place a bracket
order from the ticket, run the 1-minute cycle, watch the entry fill and the take-profit
exit, and screenshot the account page (tests/browser/artifacts/paper-account.png)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from tests.browser.conftest import assert_clean, shot

pytestmark = pytest.mark.browser


def _set_price(stock_id: int, price: float) -> None:
    from app.database import utcnow
    from app.models import Snapshot

    snap = _db.session.get(Snapshot, stock_id)
    _db.session.refresh(snap)
    snap.prev_price, snap.price, snap.as_of = snap.price, price, utcnow()
    _db.session.commit()


def _cycle() -> None:
    from app.market import hooks

    assert hooks.emit(hooks.after_quotes_cycle, "1m", run_id=0, version=None, as_of=None, session=None) == []


def test_bracket_order_fills_and_exits(live_server, page, factories):
    from app.market.services import load_demo_market
    from app.models import Order, PaperAccount, Snapshot, Stock, Trade
    from app.paper import services
    from tests.factories import PASSWORD

    load_demo_market()
    aapl = _db.session.scalar(select(Stock).where(Stock.symbol == "AAPL"))
    price = _db.session.get(Snapshot, aapl.id).price
    user = factories.user("paper-trader@example.com")
    page.set_viewport_size({"width": 1366, "height": 900})

    page.goto(f"{live_server}/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/home$"))

    page.click("nav >> text=Paper trading")
    page.wait_for_url(re.compile(r".*/paper$"))
    assert "No paper account yet" in page.content()
    page.fill("#name", "Demo swing")
    page.click("#account-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/paper/\d+$"))
    account = _db.session.scalar(select(PaperAccount).where(PaperAccount.owner_id == user.id))
    services.snapshot_equity(dt.date.today() - dt.timedelta(days=1))

    # the ticket: a limit entry below the market with a take-profit and a stop-loss
    page.fill("#symbol", "AAP")
    page.wait_for_selector("#symbol-options option[value=AAPL]", state="attached")
    page.fill("#symbol", "AAPL")
    page.fill("#qty", "20")
    page.select_option("#type", "limit")
    page.fill("#limit_price", f"{price * 0.99:.2f}")
    page.fill("#take_profit", f"{price * 1.05:.2f}")
    page.fill("#stop_loss", f"{price * 0.95:.2f}")
    page.select_option("#tif", "gtc")
    page.click("#ticket button[type=submit]")
    page.wait_for_selector("[data-order-placed]")
    assert "Order placed: buy 20 AAPL (limit)" in page.inner_text("[data-order-placed]")
    # the live region refreshes on the server event: entry open, legs waiting for it
    page.wait_for_selector("#open-orders")
    assert page.locator("#open-orders tbody tr").count() == 3
    assert "waits for entry" in page.inner_text("#open-orders")

    # the market drops through the limit: the next cycle fills the entry, legs go live
    _set_price(aapl.id, price * 0.985)
    _cycle()
    page.reload()
    assert "AAPL" in page.inner_text("#positions")
    assert page.locator("#open-orders tbody tr").count() == 2
    entry = _db.session.scalar(select(Order).where(Order.account_id == account.id, Order.role == "entry"))
    _db.session.refresh(entry)
    assert entry.status == "filled" and float(entry.fill_price) <= round(price * 0.99, 2)

    # then rallies through the take-profit: the exit fills, the stop-loss is cancelled
    _set_price(aapl.id, price * 1.06)
    _cycle()
    services.snapshot_equity(dt.date.today())
    page.reload()
    page.wait_for_selector("#trades")
    trades_text = page.inner_text("#trades")
    assert "AAPL" in trades_text and "R" in trades_text
    assert "No open positions" in page.content() and "No open orders" in page.content()
    trade = _db.session.scalar(select(Trade).where(Trade.account_id == account.id))
    assert trade.pnl > 0 and trade.r_multiple is not None
    page.wait_for_selector(".equity-chart.has-data canvas")
    path = shot(page, "paper-account")
    assert path.stat().st_size > 10_000
    assert_clean(page)  # no CSP violation, no JavaScript error

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    shot(page, "paper-account-phone")
