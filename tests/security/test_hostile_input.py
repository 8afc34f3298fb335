"""A6: the 500s found by fuzzing, one by one (tests/security/test_fuzz_routes.py walks
every route with the same values)."""
from __future__ import annotations

import pytest

from app.errors import parse_id
from tests.factories import PASSWORD
from tests.screener import universe as _universe


@pytest.fixture()
def trader(client, login, factories):
    return login(factories.user("trader@example.com"))


def _post(client, csrf, url, page="/home", **data):
    return client.post(url, data={"csrf_token": csrf(client, page), **data})


@pytest.mark.parametrize("wid", ["99999999999999999999", "9223372036854775808", "2147483648"])
def test_huge_ids_in_urls_are_404(client, db, trader, wid):
    for url in (f"/watchlists/{wid}", f"/strategies/{wid}", f"/paper/{wid}", f"/screener/screens/{wid}"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert "Page not found" in r.get_data(as_text=True)


def test_huge_id_in_a_form_field_is_404_with_a_message(client, csrf, db, trader):
    _universe.build()
    r = _post(client, csrf, "/watchlists/add", symbol="AAA", watchlist_id="2147483648")
    assert r.status_code == 404
    assert "No such watchlist." in r.get_data(as_text=True)


def test_huge_watchlist_in_a_screen_is_a_field_error(client, csrf, db, trader):
    r = client.get("/screener/results", query_string={"wl": "99999999999999999999"})
    assert r.status_code == 422
    assert "Unknown watchlist." in r.get_data(as_text=True)


@pytest.mark.parametrize("value, expected", [("1", 1), (" 42 ", 42), ("2147483647", 2147483647)])
def test_parse_id_accepts_database_ids(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize("value", ["0", "-1", "2147483648", "99999999999999999999", "1e3", "", None, "٣"])
def test_parse_id_refuses_everything_else(value):
    with pytest.raises(ValueError):
        parse_id(value)


def test_crlf_in_next_after_sign_in_goes_home(client, csrf, db, factories):
    factories.user("ada@example.com")
    r = _post(client, csrf, "/login", page="/login", email="ada@example.com", password=PASSWORD,
              next="/account\r\nSet-Cookie: evil=1")
    assert r.status_code == 303 and r.headers["Location"] == "/home"
    assert "evil" not in " ".join(r.headers.getlist("Set-Cookie"))


def test_crlf_in_next_of_quick_add_falls_back_to_the_list(client, csrf, db, trader):
    _universe.build()
    r = _post(client, csrf, "/watchlists/add", symbol="AAA", next="/screener\r\nLocation: https://evil.example")
    assert r.status_code == 303 and r.headers["Location"].startswith("/watchlists/")


def test_refused_screen_save_without_htmx_is_422_with_the_message(client, csrf, db, trader):
    r = _post(client, csrf, "/screener/screens", page="/screener", name="Empty", qs="f=rsi:lt:30")
    assert r.status_code == 303  # a valid save still works
    r = _post(client, csrf, "/screener/screens", page="/screener", name="Empty", qs="")
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "Add at least one filter or a formula before saving." in body
    assert 'href="/screener"' in body and "Back to the screener" in body


@pytest.mark.parametrize("url, field", [("/watchlists", "name"), ("/account/profile", "display_name")])
def test_nul_bytes_in_free_text_are_400_with_a_message(client, csrf, db, trader, url, field):
    r = _post(client, csrf, url, **{field: "evil\x00name"})
    assert r.status_code == 400
    assert "Text cannot contain NUL characters" in r.get_data(as_text=True)


def test_nul_byte_in_the_path_or_query_is_400(client, db, trader):
    assert client.get("/stocks/AB%00C").status_code == 400
    assert client.get("/screener/results?q=close%00").status_code == 400
