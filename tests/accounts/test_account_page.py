from sqlalchemy import select

from app.models import User


def test_account_page_shows_plan_and_security_activity(client, csrf, db, factories):
    factories.user("ada@example.com")
    client.post("/login", data={"email": "ada@example.com", "password": "wrong pass word", "csrf_token": csrf(client)})
    from tests.factories import PASSWORD

    client.post("/login", data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": csrf(client)})
    body = client.get("/account").get_data(as_text=True)
    assert "Free" in body and "Active alerts" in body
    assert "Failed sign-in attempt" in body and "Signed in" in body
    full = client.get("/account/security").get_data(as_text=True)
    assert full.count("<tr>") >= 3


def test_profile_update_and_validation(client, hx, login, csrf, db, factories):
    user = login(factories.user())
    token = csrf(client, "/account")
    r = hx.post("/account/profile", data={"display_name": "", "csrf_token": token})
    assert r.status_code == 422 and "Enter a display name." in r.get_data(as_text=True)
    r = hx.post("/account/profile", data={"display_name": "Grace", "csrf_token": token})
    assert r.status_code == 204 and r.headers["HX-Redirect"] == "/account"
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "Grace"


def test_account_requires_login(client, db):
    assert client.get("/account").headers["Location"].startswith("/login?next=/account")


def test_profile_post_needs_csrf(client, login, db, factories):
    user = login(factories.user(display_name="Before"))
    assert client.post("/account/profile", data={"display_name": "After"}).status_code == 400
    assert db.session.scalar(select(User.display_name).where(User.id == user.id)) == "Before"
