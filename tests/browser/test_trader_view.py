"""The trader's tour in a real browser on the demo market: search with the keyboard (arrow
keys through the suggestions, Enter on a single match), "+ Watch" and Buy from the stock
page (the ticket opens pre-filled and its estimate follows the quantity), and a destructive
action's confirmation dialog, dismissed then accepted. Screenshots: tests/browser/artifacts/
trader-*.png."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from tests.browser.conftest import assert_clean, shot
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture()
def trader(live_server, factories):
    from app.market.services import load_demo_market
    from app.models import Subscription
    from app.paper import services as paper
    from app.watchlists import services as watchlists

    load_demo_market()
    user = factories.user("tour@example.com")
    sub = _db.session.scalar(select(Subscription).where(Subscription.user_id == user.id))
    sub.plan, sub.status = "pro", "active"
    _db.session.commit()
    _db.session.refresh(user)
    watchlists.create_watchlist(user, "Tech")
    watchlists.create_watchlist(user, "Swing ideas")
    account = paper.open_account(user, "Main")
    return user, account


def _sign_in(page, base, user):
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{base}/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/home$"))


def test_keyboard_search(page, live_server, trader):
    user, _ = trader
    _sign_in(page, live_server, user)
    page.keyboard.press("/")
    page.keyboard.type("a")
    page.wait_for_selector("#nav-suggest [role=option] >> nth=2")
    search = page.locator("#nav-symbol")
    assert search.get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    second = page.locator("#nav-suggest [role=option]").nth(1)
    assert search.get_attribute("aria-activedescendant") == second.get_attribute("id")
    assert second.get_attribute("aria-selected") == "true"
    page.keyboard.press("ArrowUp")
    first = page.locator("#nav-suggest [role=option]").nth(0)
    assert search.get_attribute("aria-activedescendant") == first.get_attribute("id")
    shot(page, "trader-01-search-arrow-keys")
    symbol = first.locator(".sym").inner_text()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/stocks/{symbol}$"))
    # a query with exactly one match: Enter opens it without choosing
    page.keyboard.press("/")
    page.keyboard.type("microsof")
    page.wait_for_selector("#nav-suggest [role=option]:has-text('MSFT')")
    assert page.locator("#nav-suggest [role=option]").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/stocks/MSFT$"))
    assert_clean(page)


def test_watch_and_buy_from_the_stock_page(page, live_server, trader):
    from app.models import Order, WatchlistItem

    user, account = trader
    _sign_in(page, live_server, user)
    page.goto(f"{live_server}/stocks/AAPL")
    page.select_option("#watch-list", label="Swing ideas")
    page.click("[data-watch]")
    page.wait_for_selector("#watch-result:has-text('Swing ideas')")
    assert _db.session.scalar(select(func.count()).select_from(WatchlistItem)) == 1
    shot(page, "trader-02-stock-page-watched")

    page.click("button.btn-buy")
    page.wait_for_url(re.compile(rf".*/paper/{account.id}\?symbol=AAPL&side=buy#ticket$"))
    assert page.locator("#symbol").input_value() == "AAPL"
    assert page.locator("#side").input_value() == "buy"
    page.wait_for_selector("[data-est-quote]")
    page.fill("#qty", "10")
    page.wait_for_selector("[data-est-fill]:has-text('10 ×')")
    cost = page.locator("[data-est-cost]").inner_text()
    assert cost.startswith("$") and page.locator("[data-est-bp-after]").inner_text().startswith("$")
    page.fill("#qty", "100000")
    page.wait_for_selector("[data-est-problem]:has-text('Position cap')")
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar would sit mid-page in a full-page shot
    shot(page, "trader-03-ticket-estimate-over-cap")
    page.fill("#qty", "10")
    page.wait_for_selector("[data-est-fill]:has-text('10 ×')")
    page.click("#ticket-submit")
    page.wait_for_selector("[data-order-placed]")
    assert "buy 10 AAPL" in page.inner_text("[data-order-placed]") or "Filled: buy 10 AAPL" in page.inner_text(
        "[data-order-placed]")
    order = _db.session.scalar(select(Order).where(Order.account_id == account.id))
    assert (order.side, order.qty, order.stock.symbol) == ("buy", 10, "AAPL")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "trader-04-bought-from-stock-page")
    assert_clean(page)


def test_delete_asks_first(page, live_server, trader):
    from app.models import Watchlist
    from app.watchlists import services as watchlists

    user, _ = trader
    tech = _db.session.scalar(select(Watchlist).where(Watchlist.name == "Tech"))
    tech_id = tech.id
    watchlists.add_symbols(user, tech_id, "AAPL MSFT")
    _sign_in(page, live_server, user)
    page.goto(f"{live_server}/watchlists/{tech_id}")
    seen = []

    def dismiss(dialog):
        seen.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("text=Delete list")
    page.wait_for_timeout(300)
    assert seen == ["Delete watchlist “Tech”? Its 2 symbols and their notes, targets and stops will be lost."]
    assert page.url.endswith(f"/watchlists/{tech_id}")
    _db.session.expire_all()
    assert _db.session.get(Watchlist, tech_id) is not None  # dismissed: nothing was sent

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Delete list")
    page.wait_for_url(re.compile(r".*/watchlists\?all=1$"))
    _db.session.expire_all()
    assert _db.session.get(Watchlist, tech_id) is None
    shot(page, "trader-05-list-deleted-after-confirm")
    assert_clean(page)
