import pytest

pytestmark = pytest.mark.smoke


def test_landing_page_for_visitors(client):
    r = client.get("/")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "Create a free account" in body
    assert "Sign in" in body


def test_security_headers(client):
    r = client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Request-ID"]


def test_unknown_url_is_a_404_page(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert "Page not found" in r.get_data(as_text=True)


def test_home_requires_login(client):
    r = client.get("/home")
    assert r.status_code == 303
    assert r.headers["Location"].startswith("/login?next=/home")


def test_signed_in_home_shows_navigation(client, login, factories):
    login(factories.user(display_name="Ada"))
    r = client.get("/home")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "Welcome back, Ada" in body
    for label in ("Screener", "Watchlists", "Alerts", "Paper trading", "Strategies", "Leaderboard", "Journal", "Learn"):
        assert label in body
