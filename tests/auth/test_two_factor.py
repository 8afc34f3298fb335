import pyotp
import pytest
from sqlalchemy import select

from app.auth import twofactor
from app.models import AuditEvent, BackupCode, TwoFactor, User
from tests.factories import PASSWORD


def login_post(client, csrf, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf(client, "/login")})


def code_post(client, csrf, code):
    return client.post("/login/2fa", data={"code": code, "csrf_token": csrf(client, "/login")})


def audit_names(db):
    return [e.event for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_setup_shows_qr_and_enables_with_code(client, login, csrf, db, factories):
    user = login(factories.user())
    r = client.get("/account/2fa/setup")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "<svg" in body
    tf = db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == user.id))
    secret = twofactor.secret_of(tf)
    assert secret in body and secret not in tf.secret_encrypted  # encrypted at rest
    token = csrf(client, "/account/2fa/setup")
    bad = client.post("/account/2fa/setup", data={"code": "000000", "csrf_token": token})
    assert bad.status_code == 422 and "That code is not correct" in bad.get_data(as_text=True)
    ok = client.post("/account/2fa/setup", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert ok.status_code == 200
    codes = [li.split("</li>")[0] for li in ok.get_data(as_text=True).split("<li>")[1:]]
    assert len(codes) == 10 and all(len(c) == 11 and c[5] == "-" for c in codes)
    db.session.expire_all()
    stored = db.session.scalars(select(BackupCode.code_hash)).all()
    assert len(stored) == 10 and not any(c in h for c in codes for h in stored)  # hashed, not plain
    assert db.session.get(User, user.id).has_2fa
    assert "2fa.enabled" in audit_names(db)


def test_login_with_2fa_needs_the_code(client, csrf, db, factories):
    user, secret, _ = factories.user_with_2fa(email="tf@example.com")
    r = login_post(client, csrf, "tf@example.com")
    assert r.status_code == 303 and r.headers["Location"] == "/login/2fa"
    # The pending state is not a session: protected pages still redirect to login.
    assert client.get("/home").status_code == 303
    assert client.get("/account").headers["Location"].startswith("/login")
    assert code_post(client, csrf, "123456").status_code == 422
    assert client.get("/home").status_code == 303
    r = code_post(client, csrf, pyotp.TOTP(secret).now())
    assert r.status_code == 303 and r.headers["Location"] == "/home"
    assert client.get("/home").status_code == 200
    assert audit_names(db)[-2:] == ["2fa.failed", "login.succeeded"]


def test_totp_code_cannot_be_replayed(client, csrf, db, factories):
    user, secret, _ = factories.user_with_2fa(email="tf@example.com")
    code = pyotp.TOTP(secret).now()
    assert twofactor.verify_login_code(user, code) is True
    assert twofactor.verify_login_code(user, code) is False


def test_backup_code_works_once(client, csrf, db, factories):
    user, _, codes = factories.user_with_2fa(email="tf@example.com")
    login_post(client, csrf, "tf@example.com")
    assert code_post(client, csrf, codes[0].upper()).status_code == 303
    assert "2fa.backup_code_used" in audit_names(db)
    assert twofactor.remaining_backup_codes(db.session.get(User, user.id)) == 9
    client.post("/logout", data={"csrf_token": csrf(client, "/home")})
    login_post(client, csrf, "tf@example.com")
    assert code_post(client, csrf, codes[0]).status_code == 422


def test_2fa_page_without_pending_login_goes_back_to_login(client, db):
    r = client.get("/login/2fa")
    assert r.status_code == 303 and r.headers["Location"] == "/login"


def test_2fa_codes_are_throttled(client, csrf, db, factories):
    factories.user_with_2fa(email="tf@example.com")
    login_post(client, csrf, "tf@example.com")
    for _ in range(5):
        assert code_post(client, csrf, "000000").status_code == 422
    assert code_post(client, csrf, "000000").status_code == 429


def test_disable_needs_password_and_code(client, login, csrf, db, factories):
    user, secret, _ = factories.user_with_2fa()
    login(user)
    token = csrf(client, "/account/2fa/disable")
    r = client.post("/account/2fa/disable", data={"password": "wrong password", "code": pyotp.TOTP(secret).now(),
                                                  "csrf_token": token})
    assert r.status_code == 422 and "password is not correct" in r.get_data(as_text=True)
    r = client.post("/account/2fa/disable", data={"password": PASSWORD, "code": "000000", "csrf_token": token})
    assert r.status_code == 422
    assert db.session.get(User, user.id).has_2fa
    r = client.post("/account/2fa/disable", data={"password": PASSWORD, "code": pyotp.TOTP(secret).now(),
                                                  "csrf_token": token})
    assert r.status_code == 303
    db.session.expire_all()
    assert not db.session.get(User, user.id).has_2fa
    assert db.session.scalar(select(TwoFactor)) is None
    assert "2fa.disabled" in audit_names(db)


def test_regenerate_backup_codes_replaces_old_ones(client, login, csrf, db, factories):
    user, secret, old_codes = factories.user_with_2fa()
    login(user)
    token = csrf(client, "/account/2fa/backup-codes")
    r = client.post("/account/2fa/backup-codes", data={"password": PASSWORD, "code": pyotp.TOTP(secret).now(),
                                                       "csrf_token": token})
    assert r.status_code == 200
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert twofactor.remaining_backup_codes(user) == 10
    user.two_factor.last_used_step = None
    assert twofactor.verify_login_code(user, old_codes[1]) is False
    assert "2fa.backup_codes_regenerated" in audit_names(db)


@pytest.mark.parametrize("path", ["/account/2fa/setup", "/account/2fa/disable", "/account/2fa/backup-codes"])
def test_2fa_pages_require_login(client, db, path):
    r = client.get(path)
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")
