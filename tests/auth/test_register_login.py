import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, Subscription, User
from tests.conftest import mail_link
from tests.factories import PASSWORD

GOOD_PASSWORD = "velvet tangerine ladder 93"


def events(db, name):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)).all()


def register(client, csrf, **data):
    form = {"email": "new@example.com", "display_name": "Newbie", "password": GOOD_PASSWORD,
            "confirm": GOOD_PASSWORD, "csrf_token": csrf(client, "/register")}
    form.update(data)
    return client.post("/register", data=form)


@pytest.mark.smoke
def test_register_creates_free_account_and_mails_confirmation(client, csrf, db, mailbox):
    r = register(client, csrf, email="  New@Example.com ")
    assert r.status_code == 303 and r.headers["Location"] == "/register/done"
    user = db.session.scalar(select(User))
    assert user.email == "new@example.com"
    assert user.email_confirmed_at is None
    assert user.password_hash.startswith("$argon2")
    assert db.session.scalar(select(Subscription.plan).where(Subscription.user_id == user.id)) == "free"
    assert len(mailbox) == 1 and mailbox[0]["To"] == "new@example.com"
    r = client.get(mail_link(mailbox[0], "/confirm/"))
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).email_confirmed_at is not None
    assert len(events(db, "email.confirmed")) == 1


def test_register_existing_email_reveals_nothing(client, csrf, db, factories, mailbox):
    factories.user("taken@example.com")
    r = register(client, csrf, email="TAKEN@example.com")
    assert r.status_code == 303 and r.headers["Location"] == "/register/done"
    assert db.session.scalar(select(func.count(User.id))) == 1
    assert mailbox[0]["Subject"] == "Someone tried to register with your email"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"password": "short", "confirm": "short"}, "at least 10 characters"),
        ({"password": "password123", "confirm": "password123"}, "commonly used passwords"),
        ({"confirm": "something else entirely"}, "The two passwords differ."),
        ({"email": "not-an-email"}, "Enter a valid email address"),
        ({"display_name": ""}, "Choose a display name."),
    ],
)
def test_register_rejects_bad_input_with_field_message(client, csrf, db, data, message):
    r = register(client, csrf, **data)
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert message in body
    assert db.session.scalar(select(func.count(User.id))) == 0
    if "email" not in data:
        assert 'value="new@example.com"' in body  # what the user typed is kept
    assert GOOD_PASSWORD not in body  # passwords are never echoed


def test_register_htmx_validation_returns_form_partial_422(client, hx, csrf, db):
    token = csrf(client, "/register")
    r = hx.post("/register", data={"email": "a@example.com", "display_name": "A", "password": "short",
                                   "confirm": "short", "csrf_token": token})
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert body.lstrip().startswith("<form") and "<html" not in body
    assert "HX-Request" in r.headers["Vary"]


def test_post_without_csrf_token_is_rejected(client, db):
    r = client.post("/register", data={"email": "x@example.com", "display_name": "X",
                                       "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD})
    assert r.status_code == 400
    assert "form expired" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == 0


def login_post(client, csrf, email, password, **extra):
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf(client, "/login"), **extra})


@pytest.mark.smoke
def test_login_and_logout(client, csrf, db, factories):
    user = factories.user("ada@example.com")
    r = login_post(client, csrf, "ADA@example.com", PASSWORD)
    assert r.status_code == 303 and r.headers["Location"] == "/home"
    assert client.get("/home").status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is not None
    assert len(events(db, "login.succeeded")) == 1
    assert client.get("/logout").status_code == 405  # sign-out is a POST (CSRF-protected)
    token = csrf(client, "/home")
    r = client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303
    assert client.get("/home").status_code == 303
    assert len(events(db, "logout")) == 1


def test_login_follows_only_local_next(client, csrf, factories):
    factories.user("ada@example.com")
    r = login_post(client, csrf, "ada@example.com", PASSWORD, next="/account")
    assert r.headers["Location"] == "/account"
    client.post("/logout", data={"csrf_token": csrf(client, "/home")})
    r = login_post(client, csrf, "ada@example.com", PASSWORD, next="https://evil.example/steal")
    assert r.headers["Location"] == "/home"


def test_wrong_password_and_unknown_email_get_the_same_message(client, csrf, db, factories):
    factories.user("ada@example.com")
    a = login_post(client, csrf, "ada@example.com", "wrong password here")
    b = login_post(client, csrf, "nobody@example.com", "wrong password here")
    assert a.status_code == b.status_code == 422
    assert "Email or password is not correct." in a.get_data(as_text=True)
    assert "Email or password is not correct." in b.get_data(as_text=True)
    assert 'value="ada@example.com"' in a.get_data(as_text=True)
    assert len(events(db, "login.failed")) == 1  # only real accounts get an audit row


def test_disabled_user_cannot_sign_in(client, csrf, factories):
    factories.user("off@example.com", active=False)
    r = login_post(client, csrf, "off@example.com", PASSWORD)
    assert r.status_code == 422
    assert client.get("/home").status_code == 303


def test_login_is_throttled_per_account_with_retry_after(client, csrf, db, factories):
    factories.user("ada@example.com")
    for _ in range(5):
        assert login_post(client, csrf, "ada@example.com", "not the password").status_code == 422
    r = login_post(client, csrf, "ada@example.com", PASSWORD)  # even the right password
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 900
    body = r.get_data(as_text=True)
    assert "Too many sign-in attempts" in body
    # The same answer for an address that has no account: no enumeration.
    for _ in range(5):
        login_post(client, csrf, "ghost@example.com", "not the password")
    assert login_post(client, csrf, "ghost@example.com", "x").status_code == 429


def test_login_is_throttled_per_ip(app, client, csrf, factories):
    app.config["LOGIN_MAX_FAILURES_PER_IP"] = 3
    try:
        for i in range(3):
            login_post(client, csrf, f"someone{i}@example.com", "not the password")
        factories.user("ada@example.com")
        assert login_post(client, csrf, "ada@example.com", PASSWORD).status_code == 429
    finally:
        app.config["LOGIN_MAX_FAILURES_PER_IP"] = 30


def test_login_fails_closed_when_redis_is_down(app, client, csrf, factories):
    import redis

    factories.user("ada@example.com")
    token = csrf(client, "/login")
    real = app.extensions["redis"]
    app.extensions["redis"] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        r = client.post("/login", data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 503
        assert "temporarily unavailable" in r.get_data(as_text=True)
        assert client.get("/login").status_code == 200  # pages that do not need Redis still work
    finally:
        app.extensions["redis"] = real
    assert client.get("/home").status_code == 303


def test_remember_me_sets_a_remember_cookie(client, csrf, factories):
    factories.user("ada@example.com")
    r = login_post(client, csrf, "ada@example.com", PASSWORD, remember="y")
    assert "remember_token=" in " ".join(r.headers.getlist("Set-Cookie"))


def test_htmx_request_with_expired_session_gets_hx_redirect(hx, db):
    r = hx.get("/account", headers={"HX-Current-URL": "http://localhost/account?tab=1"})
    assert r.status_code == 204
    assert r.headers["HX-Redirect"] == "/login?next=/account?tab%3D1"


def test_unconfirmed_user_sees_banner_and_can_resend(client, login, csrf, factories, mailbox):
    login(factories.user("u@example.com", confirmed=False))
    body = client.get("/home").get_data(as_text=True)
    assert "Please confirm your email address" in body
    r = client.post("/confirm/resend", data={"csrf_token": csrf(client, "/home")})
    assert r.status_code == 303
    assert mailbox[-1]["Subject"] == "Confirm your email"


def test_bad_confirmation_link_is_a_400_page(client, db):
    r = client.get("/confirm/not-a-token")
    assert r.status_code == 400
    assert "This link is not valid" in r.get_data(as_text=True)


def test_register_shows_every_problem_in_one_round(client, csrf, db):
    r = register(client, csrf, display_name="", password="short", confirm="short")
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Choose a display name." in body and "at least 10 characters" in body
