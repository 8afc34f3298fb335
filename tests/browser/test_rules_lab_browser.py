"""The formula lab in a real browser: live validation as you type, the help partial."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_clean, shot
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, base, email):
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def test_formula_lab_validates_as_you_type(page, live_server, factories):
    user = factories.user("lab@example.com")
    sign_in(page, live_server, user.email)
    page.goto(f"{live_server}/rules")
    verdict = page.locator("#rule-verdict")
    assert "Type a formula" in verdict.inner_text()

    page.fill("#rule-expr", "close > smaa(close, 50)")
    expect(verdict).to_contain_text("unknown function smaa at column 9 — did you mean sma?")
    assert page.locator("#rule-verdict mark").inner_text() == "s"
    shot(page, "rules-lab-error")

    page.fill("#rule-expr", "close > sma(close, 50) and rsi(14) < 30")
    expect(verdict).to_contain_text("✓ valid returns a condition")

    page.select_option("#rule-kind", "number")
    expect(verdict).to_contain_text("expected a number, but the formula gives a condition")
    shot(page, "rules-lab-kind")

    page.click("text=Show fields and functions here")
    page.wait_for_selector("#rule-help #fn-crosses_above")
    assert page.locator("#rule-help #field-rel_volume").count() == 1
    assert_clean(page)


def test_help_page_at_phone_width(phone_page, live_server, factories):
    user = factories.user("labphone@example.com")
    sign_in(phone_page, live_server, user.email)
    phone_page.goto(f"{live_server}/rules/help")
    assert phone_page.locator("#fn-sma").count() == 1
    shot(phone_page, "rules-help-phone")
    assert_clean(phone_page)
