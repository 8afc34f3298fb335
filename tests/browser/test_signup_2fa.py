"""The newcomer's journey in a real browser: sign up, confirm the email (read from a real
SMTP server), turn on 2FA, sign out, sign back in with a TOTP code or a backup code."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.models import AuditEvent, User
from tests.browser.conftest import assert_clean, shot

pytestmark = pytest.mark.browser

EMAIL = "newtrader@example.com"
PASSWORD = "a-very-long-passphrase-77"


def flash_text(page) -> str:
    return page.locator("#flash").inner_text()


def sign_in(page, base, email, password):
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")


def sign_out(page):
    page.click("form[action='/logout'] button")
    page.wait_for_url(re.compile(r".*/$"))


def confirmation_link(message) -> str:
    body = message.get_payload(decode=True).decode()
    match = re.search(r"https?://\S+/confirm/\S+", body)
    assert match, body
    return match.group(0)


def next_totp(secret: str, after_step: int | None) -> str:
    """The code an authenticator shows now, or in the next 30-second step when the current
    one was already used (the app refuses a replayed step and accepts one step of drift)."""
    totp = pyotp.TOTP(secret)
    now = time.time()
    if after_step is not None and int(now) // totp.interval <= after_step:
        return totp.at(now + totp.interval)
    return totp.at(now)


def test_sign_up_confirm_enable_2fa_and_sign_in_with_codes(page, live_server, mailbox):
    base = live_server
    # Landing page for visitors.
    page.goto(base + "/")
    assert page.locator("h1").inner_text().startswith("Scan the US market.")
    shot(page, "01-landing")

    page.click("text=Create a free account")
    page.wait_for_url(f"{base}/register")
    assert page.locator("h1").inner_text() == "Create your account" or page.locator("#register-form").is_visible()
    shot(page, "02-register")

    # Bad input: field messages, what was typed is kept (not the passwords).
    page.fill("#email", "not-an-email")
    page.fill("#display_name", "New Trader")
    page.fill("#password", "short")
    page.fill("#confirm", "different")
    page.click("#register-form button[type=submit]")
    page.wait_for_selector("#register-form .field-error")
    errors = page.locator("#register-form .field-error").all_inner_texts()
    assert len(errors) >= 2, errors
    assert page.input_value("#email") == "not-an-email"
    assert page.input_value("#display_name") == "New Trader"
    assert page.input_value("#password") == ""
    shot(page, "03-register-errors")
    assert mailbox == []

    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("#register-form button[type=submit]")
    page.wait_for_url(f"{base}/register/done")
    assert page.locator("h1").inner_text() == "Check your email"
    assert EMAIL in page.locator("main").inner_text()
    shot(page, "04-check-email")

    # The confirmation mail arrived at the real SMTP server (jobs run inline in tests).
    assert len(mailbox) == 1
    assert mailbox[0]["To"] == EMAIL and mailbox[0]["Subject"] == "Confirm your email"
    link = confirmation_link(mailbox[0])
    assert link.startswith(f"{base}/confirm/")

    # Registering does not sign in: sign in with the password; the banner asks to confirm.
    page.click("main a.btn-primary:has-text(\"Sign in\")")
    page.wait_for_url(f"{base}/login")
    shot(page, "05-login")
    sign_in(page, base, EMAIL, PASSWORD)
    page.wait_for_url(f"{base}/home")
    assert "Please confirm your email address" in page.locator(".banner").inner_text()
    shot(page, "06-home-unconfirmed")

    page.goto(link)
    page.wait_for_url(f"{base}/home")
    assert "Thank you: your email address is confirmed." in flash_text(page)
    assert page.locator(".banner").count() == 0
    assert page.locator("h1").inner_text() == "Welcome back, New Trader"
    shot(page, "07-home")

    page.click(".user-link")
    page.wait_for_url(f"{base}/account")
    assert "confirmed" in page.locator(".kv").inner_text()
    shot(page, "08-account")

    # Turn on 2FA: a wrong code first, then the real one.
    page.click("text=Turn on two-factor")
    page.wait_for_url(f"{base}/account/2fa/setup")
    assert page.locator(".qr svg").count() == 1
    secret = page.locator("[data-testid=totp-secret]").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    shot(page, "09-2fa-setup")
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    page.fill("#code", wrong)
    page.click("#twofa-setup-form button[type=submit]")
    assert "That code is not correct" in page.locator("#twofa-setup-form").inner_text()
    assert page.locator("[data-testid=totp-secret]").inner_text().strip() == secret  # same secret kept
    shot(page, "10-2fa-setup-wrong-code")

    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#twofa-setup-form button[type=submit]")
    page.wait_for_selector("[data-testid=backup-codes]")
    codes = page.locator("[data-testid=backup-codes] li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in codes), codes
    shot(page, "11-backup-codes")
    page.click("text=I saved them")
    page.wait_for_url(f"{base}/account")
    assert page.locator(".badge-on").inner_text() == "On"

    _db.session.expire_all()
    user = _db.session.scalar(select(User).where(User.email == EMAIL))
    assert user.has_2fa and user.email_confirmed
    used_step = user.two_factor.last_used_step

    # Sign out, sign in: the password leads to the 2FA step, not into the app.
    sign_out(page)
    assert "You are signed out." in flash_text(page)
    sign_in(page, base, EMAIL, PASSWORD)
    page.wait_for_url(f"{base}/login/2fa")
    shot(page, "12-login-2fa")
    page.goto(f"{base}/home")  # the pending step cannot be skipped
    page.wait_for_url(re.compile(r".*/login\?next=/home$"))
    sign_in(page, base, EMAIL, PASSWORD)
    page.wait_for_url(f"{base}/login/2fa")

    page.fill("#code", "12345")  # wrong: one digit short
    page.click("#twofa-form button[type=submit]")
    page.wait_for_selector("#twofa-form .field-error")
    assert "That code is not correct" in page.locator("#twofa-form .field-error").inner_text()
    shot(page, "13-login-2fa-wrong-code")

    page.fill("#code", next_totp(secret, used_step))
    page.click("#twofa-form button[type=submit]")
    page.wait_for_url(f"{base}/home")
    assert page.locator("h1").inner_text() == "Welcome back, New Trader"
    assert page.locator(".notice").count() == 0  # 2FA is on: no nagging
    shot(page, "14-home-signed-in")  # the README's screenshot (docs/img/home.png) comes from this one

    # A backup code works once.
    sign_out(page)
    sign_in(page, base, EMAIL, PASSWORD)
    page.wait_for_url(f"{base}/login/2fa")
    page.fill("#code", codes[3].upper().replace("-", " "))  # typed loosely: case and separators
    page.click("#twofa-form button[type=submit]")
    page.wait_for_url(f"{base}/home")
    sign_out(page)
    sign_in(page, base, EMAIL, PASSWORD)
    page.wait_for_url(f"{base}/login/2fa")
    page.fill("#code", codes[3])
    page.click("#twofa-form button[type=submit]")
    page.wait_for_selector("#twofa-form .field-error")
    assert page.url == f"{base}/login/2fa"

    _db.session.expire_all()
    events = [e.event for e in _db.session.scalars(select(AuditEvent).where(AuditEvent.user_id == user.id)
                                                  .order_by(AuditEvent.id))]
    assert events.count("2fa.backup_code_used") == 1
    assert "2fa.enabled" in events and "email.confirmed" in events
    assert events.count("login.succeeded") == 3
    assert_clean(page)


def test_phone_width_landing_and_home(phone_page, live_server, factories):
    page, base = phone_page, live_server
    factories.user("phone@example.com", display_name="Pocket Trader")
    page.goto(base + "/")
    shot(page, "20-phone-landing")
    # Nothing sticks out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    sign_in(page, base, "phone@example.com", factories.PASSWORD)
    page.wait_for_url(f"{base}/home")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The navigation is folded behind the menu button.
    nav = page.locator("#main-nav")
    assert not nav.is_visible()
    shot(page, "21-phone-home")
    page.click("[data-nav-toggle]")
    assert nav.is_visible()
    assert page.get_attribute("[data-nav-toggle]", "aria-expanded") == "true"
    shot(page, "22-phone-home-menu")
    assert_clean(page)


def test_admin_users_and_audit_pages(page, live_server, factories):
    base = live_server
    factories.admin(email="boss@example.com", display_name="Boss")
    factories.user("someone@example.com", display_name="Someone")
    sign_in(page, base, "boss@example.com", factories.PASSWORD)
    page.wait_for_url(f"{base}/home")

    # At desktop width the whole navigation (Admin included) fits on one row.
    nav = page.locator("#main-nav").bounding_box()
    link = page.locator("#main-nav a").first.bounding_box()
    assert nav["height"] < 2 * link["height"], (nav, link)
    page.click("#main-nav >> text=Admin")
    page.wait_for_url(f"{base}/admin")
    page.goto(f"{base}/admin/users")
    rows = page.locator("table.data tbody tr")
    assert rows.count() == 2
    assert "someone@example.com" in page.locator("table.data").inner_text()
    shot(page, "30-admin-users")

    page.goto(f"{base}/admin/audit")
    assert "login.succeeded" in page.locator("main").inner_text() or "Signed in" in page.locator("main").inner_text()
    shot(page, "31-admin-audit")
    assert_clean(page)
