"""A2: signing out ends the sign-in server-side, including "Keep me signed in"."""
from app.models import User
from tests.factories import PASSWORD


def _sign_in(app, client, csrf, remember: bool):
    data = {"email": "ada@example.com", "password": PASSWORD, "csrf_token": csrf(client, "/login")}
    if remember:
        data["remember"] = "y"
    r = client.post("/login", data=data)
    assert r.status_code == 303 and r.headers["Location"] == "/home"
    return client.get_cookie("session").value, (client.get_cookie("remember_token").value if remember else None)


def _sign_out(client, csrf):
    r = client.post("/logout", data={"csrf_token": csrf(client, "/home")})
    assert r.status_code == 303


def test_captured_remember_cookie_does_not_sign_in_after_logout(app, client, csrf, db, factories):
    factories.user("ada@example.com")
    _, remember = _sign_in(app, client, csrf, remember=True)
    # Before sign-out the remember cookie alone signs a fresh browser in.
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    assert fresh.get("/home").status_code == 200
    _sign_out(client, csrf)
    replay = app.test_client()
    replay.set_cookie("remember_token", remember)
    r = replay.get("/home")
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")


def test_captured_session_cookie_does_not_work_after_logout(app, client, csrf, db, factories):
    user = factories.user("ada@example.com")
    session_cookie, _ = _sign_in(app, client, csrf, remember=False)
    _sign_out(client, csrf)
    replay = app.test_client()
    replay.set_cookie("session", session_cookie)
    r = replay.get("/home")
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")
    db.session.expire_all()
    assert db.session.get(User, user.id).session_version == 2


def test_signing_out_keeps_a_pending_email_change_link_valid(client, csrf, db, factories, login):
    """Only the session version moves: links tied to auth_version keep working."""
    from app.auth import services

    user = login(factories.user("ada@example.com"))
    user.pending_email = "new@example.com"
    db.session.commit()
    token = services.email_change_token(user)
    _sign_out(client, csrf)
    assert client.get(f"/email/confirm/{token}").status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "new@example.com"
