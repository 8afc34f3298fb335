"""The screener in a real browser on the demo market: build a screen with two filters and a
formula, sort, page, save it, add a result to a watchlist; screenshots of the screener
(desktop and phone) and of the watchlist (tests/browser/artifacts/screener-*.png)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from tests.browser.conftest import assert_clean, shot

pytestmark = pytest.mark.browser


def _login(page, base, user):
    from tests.factories import PASSWORD

    page.goto(f"{base}/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/home$"))


def _symbols(page) -> list[str]:
    return page.locator("#screen-table tbody a.sym").all_inner_texts()


def test_build_sort_page_save_and_watch(live_server, page, phone_page, factories):
    from app.market.services import load_demo_market
    from app.models import SavedScreen, Watchlist, WatchlistItem
    from app.screener.queries import clear_bar_cache

    load_demo_market()
    clear_bar_cache()
    user = factories.user("screener@example.com")
    page.set_viewport_size({"width": 1366, "height": 900})
    _login(page, live_server, user)

    page.click("nav >> text=Screener")
    page.wait_for_url(re.compile(r".*/screener$"))
    assert page.locator("#results").count() == 1

    # two filters, added with HTMX
    page.click("#add-filter")
    page.wait_for_selector("#filter-0")
    page.select_option("#f-field-0", "price")
    page.select_option("#f-op-0", "gt")
    page.fill("#f-val-0", "5")
    page.click("#add-filter")
    page.wait_for_selector("#filter-1")
    page.select_option("#f-field-1", "rsi")
    page.select_option("#f-op-1", "between")
    page.fill("#f-val-1", "20, 80")
    # a formula, validated live
    page.fill("#q", "close > sma(close, 20) or rsi(14) < 50")
    page.wait_for_selector("#q-verdict .verdict-ok")
    page.click("#screen-form button[type=submit]")
    page.wait_for_url(re.compile(r".*f=price%3Agt%3A5.*f=rsi%3Abetween%3A20%7C80.*q=close"))
    page.wait_for_load_state("networkidle")  # the blur's "change" and the submit both ask
    page.wait_for_selector("#screen-table")
    count_text = page.locator("#results .count strong").inner_text()
    total = int(count_text.replace(",", ""))
    assert total > 50, "the demo universe should leave more than one page"

    # sort by change % (click the header: descending first)
    page.click("#screen-table thead >> text=Change %")
    page.wait_for_url(re.compile(r".*sort=change_pct&dir=desc"))
    page.wait_for_selector("#screen-table th.sorted >> text=Change %")
    first_page = _symbols(page)
    assert len(first_page) == 50

    # page 2 keeps the screen and the sort
    page.click("#results .pagination >> text=Next")
    page.wait_for_url(re.compile(r".*sort=change_pct&dir=desc&page=2"))
    page.wait_for_selector("#results .pagination >> text=Page 2 of")
    second_page = _symbols(page)
    assert second_page and not set(second_page) & set(first_page)

    # the back button returns to page 1
    page.go_back()
    page.wait_for_selector("#results .pagination >> text=Page 1 of")
    assert page.url.endswith("dir=desc")
    assert _symbols(page) == first_page

    # save it
    page.fill("#save-name", "Liquid momentum")
    page.click("#save-form button[type=submit]")
    page.wait_for_url(re.compile(r".*screen=\d+"))
    assert page.locator("h1").inner_text() == "Liquid momentum"
    screen = _db.session.scalar(select(SavedScreen).where(SavedScreen.owner_id == user.id))
    assert screen.definition["formula"] == "close > sma(close, 20) or rsi(14) < 50"
    assert [f["field"] for f in screen.definition["filters"]] == ["price", "rsi"]
    assert screen.definition["sort"] == "change_pct"

    # add the first result to a watchlist (created on the fly)
    first = _symbols(page)[0]
    page.locator("#screen-table tbody tr").first.locator("button", has_text="+ Watch").click()
    page.wait_for_selector("#screen-table tbody tr >> .added-ok")
    wl = _db.session.scalar(select(Watchlist).where(Watchlist.owner_id == user.id))
    items = _db.session.scalars(select(WatchlistItem).where(WatchlistItem.watchlist_id == wl.id)).all()
    assert [i.stock.symbol for i in items] == [first] and items[0].price_added is not None
    shot(page, "screener-desktop")
    assert_clean(page)

    # the watchlist page
    page.goto(f"{live_server}/watchlists")
    page.wait_for_selector("#wl-table")
    page.fill("#paste", "AAPL MSFT NVDA")
    page.click("form:has(#paste) button[type=submit]")
    page.wait_for_selector("#wl-table >> text=NVDA")
    assert "Added AAPL, MSFT, NVDA" in page.content() or "Already in the list" in page.content()
    shot(page, "screener-watchlist")
    assert_clean(page)

    # phone width: the saved screen
    _login(phone_page, live_server, user)
    phone_page.goto(f"{live_server}/screener/screens/{screen.id}")
    phone_page.wait_for_selector("#screen-table")
    shot(phone_page, "screener-phone")
    assert_clean(phone_page)
