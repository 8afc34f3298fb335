"""The /screener pages: login, CSRF, owner scoping, plan limits, HTMX fragments (Vary,
ETag/304, HX-Push-Url), CSV export and saved screens."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.market.services import bump_snapshot_version
from app.models import SavedScreen
from app.screener import services
from app.screener.definition import ScreenDefinition


def token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def defn(qs: str) -> ScreenDefinition:
    from urllib.parse import parse_qsl

    from werkzeug.datastructures import MultiDict

    return ScreenDefinition.parse(MultiDict(parse_qsl(qs)))


@pytest.fixture()
def signed_in(client, login, trader, universe):
    login(trader)
    return token(client.get("/screener").get_data(as_text=True))


def test_login_required_on_every_route(client, db):
    for url in ("/screener", "/screener/results", "/screener/export.csv", "/screener/filter-row",
                "/screener/nothing", "/screener/screens", "/screener/screens/1"):
        r = client.get(url)
        assert r.status_code in (302, 303) and "/login" in r.headers["Location"], url
    for url in ("/screener/screens", "/screener/screens/1/update", "/screener/screens/1/rename",
                "/screener/screens/1/public", "/screener/screens/1/delete", "/screener/screens/1/clone"):
        assert client.post(url).status_code in (302, 303, 400), url


def test_page_shows_filters_presets_results_and_as_of(client, signed_in):
    page = client.get("/screener?f=rsi:lt:30&sort=rsi&dir=asc").get_data(as_text=True)
    assert 'id="filter-0"' in page and 'value="rsi" selected' in page
    assert "Top gainers" in page and "Golden cross" in page and "Gap down" in page
    assert re.findall(r'class="sym" href="/stocks/(\w+)"', page) == ["DDD", "CCC"]
    assert "as of 14:31:05 ET" in page and "simulated data" in page
    assert 'aria-sort="ascending"' in page
    assert "/alerts/new?symbol=DDD" in page


def test_results_fragment_vary_etag_304_and_push_url(client, hx, signed_in):
    r = hx.get("/screener/results?f=price:gt:10&sort=price&dir=asc")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="results"') and "<html" not in body
    assert "HX-Request" in r.headers["Vary"]
    assert r.headers["HX-Push-Url"] == "/screener?f=price%3Agt%3A10&sort=price&dir=asc"
    etag = r.headers["ETag"]
    again = hx.get("/screener/results?f=price:gt:10&sort=price&dir=asc",
                   headers={"If-None-Match": etag, "HX-Trigger": "results"})
    assert again.status_code == 304 and again.get_data() == b"" and "HX-Request" in again.headers["Vary"]
    assert "HX-Push-Url" not in again.headers
    # another page or another sort is another ETag
    other = hx.get("/screener/results?f=price:gt:10&sort=price&dir=desc", headers={"If-None-Match": etag})
    assert other.status_code == 200
    # new quotes: the same screen renders again
    bump_snapshot_version()
    assert hx.get("/screener/results?f=price:gt:10&sort=price&dir=asc",
                  headers={"If-None-Match": etag}).status_code == 200


def test_poll_does_not_push_the_url(hx, signed_in):
    r = hx.get("/screener/results?f=price:gt:10", headers={"HX-Trigger": "results"})
    assert r.status_code == 200 and "HX-Push-Url" not in r.headers


def test_invalid_screen_is_422_with_messages_never_500(client, hx, signed_in):
    r = hx.get("/screener/results?f=price:gt:ten&q=close+>")
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "is not a number" in body and "Fix the screen" in body
    page = client.get("/screener?f=price:gt:ten&q=close+>&sort=zz&per=-1&page=x&wl=abc")
    assert page.status_code == 200 and "is not a number" in page.get_data(as_text=True)


def test_sort_header_and_pagination_links_keep_the_screen(client, signed_in):
    page = client.get("/screener?f=price:gt:0&per=2&sort=price&dir=asc&cols=price,rsi").get_data(as_text=True)
    assert "Page 1 of 3" in page
    assert 'href="/screener?f=price%3Agt%3A0&amp;sort=price&amp;dir=asc&amp;cols=price%2Crsi&amp;per=2&amp;page=2"' in page
    # clicking the sorted column flips the direction, back to page 1
    assert 'href="/screener?f=price%3Agt%3A0&amp;sort=price&amp;dir=desc&amp;cols=price%2Crsi&amp;per=2"' in page
    p2 = client.get("/screener?f=price:gt:0&per=2&sort=price&dir=asc&cols=price,rsi&page=2").get_data(as_text=True)
    assert re.findall(r'class="sym" href="/stocks/(\w+)"', p2) == ["EEE", "BBB"]
    head = p2[p2.index("<thead>"):p2.index("</thead>")]
    assert ">RSI" in head and ">Price" in head and ">Sector" not in head


def test_filter_row_fragment_and_remove(hx, signed_in):
    r = hx.get("/screener/filter-row?i=3&field=sector")
    body = r.get_data(as_text=True)
    assert 'id="filter-3"' in body and 'value="sector" selected' in body
    assert 'hx-swap-oob="true"' in body and "i=4" in body
    gone = hx.get("/screener/nothing")
    assert gone.status_code == 200 and gone.get_data() == b"" and gone.headers["HX-Trigger-After-Swap"] == "filter-removed"


def test_csv_export_is_the_full_result(client, signed_in):
    r = client.get("/screener/export.csv?f=price:gt:1&sort=price&dir=desc&cols=price,change_pct,market_cap,sector&per=2")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    assert r.get_data(as_text=True).splitlines() == [
        "Symbol,Price,Change %,Market cap,Sector",
        "CCC,100,0,200000000000,Energy",
        "BBB,50,-2,50000000000,Technology",
        "EEE,20,1.5,3000000000,Energy",
        "AAA,10,5,1000000000,Technology",
    ]


def test_save_rename_public_delete(client, signed_in, trader):
    t = signed_in
    r = client.post("/screener/screens", data={"csrf_token": t, "name": "Oversold", "qs": "f=rsi:lt:30&sort=rsi&dir=asc"})
    assert r.status_code == 303
    screen = db.session.scalar(select(SavedScreen))
    assert screen.owner_id == trader.id and not screen.is_public
    assert screen.definition["filters"] == [{"field": "rsi", "op": "lt", "values": ["30"]}]
    page = client.get(r.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "<h1>Oversold</h1>" in page and 'value="rsi" selected' in page
    client.post(f"/screener/screens/{screen.id}/rename", data={"csrf_token": t, "name": "Deep oversold"})
    client.post(f"/screener/screens/{screen.id}/public", data={"csrf_token": t, "is_public": "1"})
    db.session.refresh(screen)
    assert (screen.name, screen.is_public) == ("Deep oversold", True)
    client.post(f"/screener/screens/{screen.id}/update", data={"csrf_token": t, "qs": "f=rsi:lt:20"})
    db.session.refresh(screen)
    assert screen.definition["filters"][0]["values"] == ["20"]
    client.post(f"/screener/screens/{screen.id}/delete", data={"csrf_token": t})
    assert db.session.scalar(select(func.count()).select_from(SavedScreen)) == 0


def test_csrf_is_required(client, signed_in):
    r = client.post("/screener/screens", data={"name": "X", "qs": "f=rsi:lt:30"})
    assert r.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(SavedScreen)) == 0


def test_saved_screen_limit_of_the_free_plan(client, hx, signed_in, trader):
    t = signed_in
    client.post("/screener/screens", data={"csrf_token": t, "name": "One", "qs": "f=rsi:lt:30"})
    r = hx.post("/screener/screens", data={"csrf_token": t, "name": "Two", "qs": "f=rsi:gt:70"})
    assert r.status_code == 403
    body = r.get_data(as_text=True)
    assert "Free plan allows 1 saved screen" in body and 'href="/account#plan"' in body
    assert db.session.scalar(select(func.count()).select_from(SavedScreen)) == 1


def test_saving_an_invalid_or_empty_screen_is_refused(hx, signed_in):
    for qs in ("", "f=price:gt:abc", "q=close+>"):
        r = hx.post("/screener/screens", data={"csrf_token": signed_in, "name": "Bad", "qs": qs})
        assert r.status_code == 422, qs
    assert db.session.scalar(select(func.count()).select_from(SavedScreen)) == 0


def test_other_users_screens_are_404_and_public_ones_cloneable(client, login, factories, universe):
    owner, other = factories.user(), factories.user()
    private = services.save_screen(owner, "Private", defn("f=rsi:lt:30"))
    owner.subscription = None
    from unittest.mock import patch

    from app.billing.plans import PLANS

    with patch("app.screener.services.plan_for", return_value=PLANS["pro"]):
        public = services.save_screen(owner, "Shared", defn("f=rsi:gt:70"), is_public=True)
    login(other)
    t = token(client.get("/screener").get_data(as_text=True))
    assert client.get(f"/screener/screens/{private.id}").status_code == 404
    for action in ("update", "rename", "public", "delete", "clone"):
        r = client.post(f"/screener/screens/{private.id}/{action}", data={"csrf_token": t, "name": "x", "qs": "f=rsi:lt:1"})
        assert r.status_code == 404, action
    for action in ("update", "rename", "public", "delete"):  # public is readable, not writable
        r = client.post(f"/screener/screens/{public.id}/{action}", data={"csrf_token": t, "name": "x", "qs": "f=rsi:lt:1"})
        assert r.status_code == 404, action
    assert client.get(f"/screener/screens/{public.id}").status_code == 303
    listing = client.get("/screener/screens").get_data(as_text=True)
    assert "Shared" in listing and "Private" not in listing
    r = client.post(f"/screener/screens/{public.id}/clone", data={"csrf_token": t})
    assert r.status_code == 303
    copy = db.session.scalar(select(SavedScreen).where(SavedScreen.owner_id == other.id))
    assert copy.name == "Shared" and not copy.is_public and copy.cloned_from_id == public.id
    assert copy.definition == public.definition
    db.session.refresh(public)
    assert public.clones == 1
    db.session.refresh(private)
    assert private.name == "Private"


def test_watchlist_scope_param_of_another_user_shows_an_error(client, login, factories, universe):
    from app.watchlists import services as wls

    owner, other = factories.user(), factories.user()
    wl = wls.create_watchlist(owner, "Mine")
    login(other)
    r = client.get(f"/screener/results?wl={wl.id}", headers={"HX-Request": "true"})
    assert r.status_code == 422 and "Unknown watchlist" in r.get_data(as_text=True)
