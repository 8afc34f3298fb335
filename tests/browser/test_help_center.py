"""Issue 15 in a real browser: open an indicator's help from the screener, take and dismiss
the screener walkthrough (HTMX, the outline follows the step), search the help center and
vote on an article. No CSP violation or script error anywhere. Screenshots:
tests/browser/artifacts/help-*.png."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import assert_clean, shot

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}


def _sign_in(page, live_server, email: str) -> None:
    from tests.factories import PASSWORD

    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/home$"))


@pytest.fixture()
def reader(db, factories):
    from app.help.content import sync
    from tests.factories import universe

    universe()
    sync()
    return factories.user("reader@example.com")


def test_indicator_help_from_the_screener_and_the_walkthrough(live_server, page, reader):
    page.set_viewport_size(WIDE)
    _sign_in(page, live_server, reader.email)
    page.goto(f"{live_server}/screener?f=price:gt:0&cols=price,rsi")
    tour = page.locator("#walkthrough")
    assert "step 1 of 5" in tour.text_content()
    assert page.locator(".presets.walkthrough-highlight").count() == 1
    shot(page, "help-walkthrough-1366")

    tour.locator("button", has_text="Next").click()
    page.wait_for_selector("#walkthrough >> text=step 2 of 5")
    assert page.locator("#filters.walkthrough-highlight").count() == 1
    assert page.locator(".presets.walkthrough-highlight").count() == 0

    page.locator("#walkthrough button", has_text="Dismiss").click()
    page.wait_for_selector("#walkthrough", state="detached")
    assert page.locator(".walkthrough-highlight").count() == 0
    page.reload()
    assert page.locator("#walkthrough").count() == 0  # never again

    page.click("th.col-rsi a.indicator-help")
    page.wait_for_url(re.compile(r".*/learn/indicators/rsi$"))
    assert "rsi" in page.text_content("h1").lower()
    assert_clean(page)


def test_help_center_search_and_vote(live_server, page, reader):
    page.set_viewport_size(WIDE)
    _sign_in(page, live_server, reader.email)
    page.goto(f"{live_server}/help")
    page.fill("#help-q", "backup codes")
    page.wait_for_selector("#help-results >> text=Two-factor authentication and backup codes")
    shot(page, "help-search-1366")
    page.click("#help-results >> text=Two-factor authentication and backup codes")
    page.wait_for_url(re.compile(r".*/help/two-factor-authentication-and-backup-codes$"))
    page.click("#helpful button[value=yes]")
    page.wait_for_selector("#helpful >> text=You answered “Yes”")
    assert page.text_content("[data-count=helpful]") == "1"
    page.click("#helpful button[value=no]")
    page.wait_for_selector("#helpful >> text=You answered “No”")
    assert page.text_content("[data-count=not-helpful]") == "1" and page.text_content("[data-count=helpful]") == "0"
    shot(page, "help-article-1366")
    assert_clean(page)
