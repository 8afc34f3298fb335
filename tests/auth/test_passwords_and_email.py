import re

from sqlalchemy import select

from app.models import AuditEvent, User
from tests.conftest import mail_link
from tests.factories import PASSWORD

NEW = "orange marmalade bicycle 77"


def audit_names(db):
    return [e.event for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_forgot_password_same_answer_for_unknown_email(client, csrf, db, factories, mailbox):
    factories.user("ada@example.com")
    a = client.post("/forgot", data={"email": "ada@example.com", "csrf_token": csrf(client, "/forgot")})
    b = client.post("/forgot", data={"email": "ghost@example.com", "csrf_token": csrf(client, "/forgot")})
    assert a.status_code == b.status_code == 200
    assert "If an account exists" in a.get_data(as_text=True)
    def page(r, email):  # the CSRF token embeds a timestamp, so it may differ between the two
        return re.sub(r'"X-CSRFToken": "[^"]+"', "", r.get_data(as_text=True).replace(email, "X@"))

    assert page(a, "ada@") == page(b, "ghost@")
    assert [m["To"] for m in mailbox] == ["ada@example.com"]


def test_reset_password_link_works_once(client, csrf, db, factories, mailbox):
    user = factories.user("ada@example.com")
    client.post("/forgot", data={"email": "ada@example.com", "csrf_token": csrf(client, "/forgot")})
    link = mail_link(mailbox[0], "/reset/")
    assert client.get(link).status_code == 200
    weak = client.post(link, data={"password": "short", "confirm": "short", "csrf_token": csrf(client, link)})
    assert weak.status_code == 422
    r = client.post(link, data={"password": NEW, "confirm": NEW, "csrf_token": csrf(client, link)})
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    again = client.get(link)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)
    login = client.post("/login", data={"email": "ada@example.com", "password": NEW, "csrf_token": csrf(client)})
    assert login.status_code == 303
    assert "password.reset" in audit_names(db)
    db.session.expire_all()
    assert db.session.get(User, user.id).auth_version == 2


def test_reset_link_expires(app, client, db, factories, mailbox, csrf):
    factories.user("ada@example.com")
    client.post("/forgot", data={"email": "ada@example.com", "csrf_token": csrf(client, "/forgot")})
    link = mail_link(mailbox[0], "/reset/")
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    try:
        r = client.get(link)
        assert r.status_code == 400 and "expired" in r.get_data(as_text=True)
    finally:
        app.config["PASSWORD_RESET_MAX_AGE"] = 3600


def test_tampered_reset_token_is_refused(client, db):
    r = client.get("/reset/abc.def.ghi")
    assert r.status_code == 400


def test_change_password_needs_current_and_signs_out_other_sessions(app, client, login, csrf, db, factories, mailbox):
    user = login(factories.user("ada@example.com"))
    other = app.test_client()
    login(user, other)
    assert other.get("/home").status_code == 200
    token = csrf(client, "/account/password")
    r = client.post("/account/password", data={"current_password": "wrong one here", "new_password": NEW,
                                               "confirm": NEW, "csrf_token": token})
    assert r.status_code == 422 and "current password is not correct" in r.get_data(as_text=True)
    r = client.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW,
                                               "confirm": NEW, "csrf_token": token})
    assert r.status_code == 303
    assert client.get("/home").status_code == 200  # this session stays
    assert other.get("/home").status_code == 303  # the other one is signed out
    assert mailbox[-1]["Subject"] == "Your password was changed"
    assert "password.changed" in audit_names(db)


def test_change_email_requires_confirmation_of_new_address(client, login, csrf, db, factories, mailbox):
    user = login(factories.user("old@example.com"))
    token = csrf(client, "/account/email")
    r = client.post("/account/email", data={"email": "new@example.com", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "old@example.com"
    assert mailbox[-1]["To"] == "new@example.com"
    r = client.get(mail_link(mailbox[-1], "/email/confirm/"))
    assert r.status_code == 303
    db.session.expire_all()
    changed = db.session.get(User, user.id)
    assert changed.email == "new@example.com" and changed.pending_email is None
    assert "email.changed" in audit_names(db)


def test_change_email_to_taken_address_fails_at_confirmation(client, login, csrf, db, factories, mailbox):
    user = login(factories.user("old@example.com"))
    token = csrf(client, "/account/email")
    client.post("/account/email", data={"email": "taken@example.com", "password": PASSWORD, "csrf_token": token})
    factories.user("taken@example.com")
    r = client.get(mail_link(mailbox[-1], "/email/confirm/"))
    assert r.status_code == 400 and "already uses this email" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "old@example.com"


def test_change_email_wrong_password(client, login, csrf, db, factories):
    login(factories.user("old@example.com"))
    token = csrf(client, "/account/email")
    r = client.post("/account/email", data={"email": "new@example.com", "password": "nope nope nope",
                                            "csrf_token": token})
    assert r.status_code == 422
    assert 'value="new@example.com"' in r.get_data(as_text=True)
