"""Watchlists: services and pages -- CRUD, owner scoping, plan limits, adding by symbol /
paste / CSV, note-target-stop, price when added, move, the live fragment, home widgets."""
from __future__ import annotations

import io
import re
from decimal import Decimal
from unittest.mock import patch

import pytest
from sqlalchemy import func, select

from app.billing.plans import PLANS
from app.errors import InvalidInput, LimitReached, NotFound
from app.extensions import db
from app.market.services import bump_snapshot_version
from app.models import Snapshot, Watchlist, WatchlistItem
from app.watchlists import services


def token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def pro():
    return patch("app.watchlists.services.plan_for", return_value=PLANS["pro"])


# ------------------------------------------------------------------ services
def test_create_rename_delete_and_the_free_limit(universe, trader):
    wl = services.create_watchlist(trader, "  Swing   ideas ")
    assert wl.name == "Swing ideas"
    with pytest.raises(LimitReached) as exc:
        services.create_watchlist(trader, "Second")
    assert "Free plan allows 1 watchlist" in exc.value.message and "Upgrade" in exc.value.message
    with pro():
        services.create_watchlist(trader, "Second")
        with pytest.raises(InvalidInput):
            services.create_watchlist(trader, "second")  # names are unique per user, any case
    services.rename_watchlist(trader, wl.id, "Longs")
    assert db.session.get(Watchlist, wl.id).name == "Longs"
    services.delete_watchlist(trader, wl.id)
    assert db.session.get(Watchlist, wl.id) is None


def test_add_symbols_price_when_added_and_change_since(universe, trader):
    wl = services.create_watchlist(trader, "Mine")
    res = services.add_symbols(trader, wl.id, "aaa, BBB;ccc\n$DDD nope AAA", )
    assert res == {"added": ["AAA", "BBB", "CCC", "DDD"], "already": [], "unknown": ["NOPE"], "skipped": []}
    again = services.add_symbols(trader, wl.id, ["AAA"])
    assert again["added"] == [] and again["already"] == ["AAA"]
    item = db.session.scalar(select(WatchlistItem).where(WatchlistItem.stock_id == universe["BBB"].id))
    assert item.price_added == Decimal("50.0000")
    db.session.get(Snapshot, universe["BBB"].id).price = 55.0
    db.session.commit()
    views = {v["symbol"]: v for v in services.item_views(wl)}
    assert views["BBB"]["since_added"] == pytest.approx(10.0)
    by_since = [v["symbol"] for v in services.item_views(wl, "since_added", "desc")]
    assert by_since[0] == "BBB"
    with pytest.raises(InvalidInput):
        services.add_symbols(trader, wl.id, ["NOPE"])


def test_items_limit_per_list(universe, trader):
    wl = services.create_watchlist(trader, "Mine")
    plan = PLANS["free"]
    small = type(plan)(**{**plan.__dict__, "watchlist_items": 3})
    with patch("app.watchlists.services.plan_for", return_value=small):
        res = services.add_symbols(trader, wl.id, ["AAA", "BBB", "CCC", "DDD", "EEE"])
        assert res["added"] == ["AAA", "BBB", "CCC"] and res["skipped"] == ["DDD", "EEE"]
        with pytest.raises(LimitReached) as exc:
            services.add_symbols(trader, wl.id, ["EEE"])
        assert "3 symbols per watchlist" in exc.value.message
    assert PLANS["free"].watchlist_items == 50 and PLANS["basic"].watchlist_items == 200
    assert PLANS["pro"].watchlist_items == 1000


def test_note_target_stop_and_move(universe, trader):
    with pro():
        a = services.create_watchlist(trader, "A")
        b = services.create_watchlist(trader, "B")
        services.add_symbols(trader, a.id, ["AAA", "BBB"])
        services.add_symbols(trader, b.id, ["BBB"])
        item = db.session.scalar(select(WatchlistItem).where(WatchlistItem.watchlist_id == a.id,
                                                             WatchlistItem.stock_id == universe["AAA"].id))
        services.update_item(trader, item.id, note="breakout", target="12.50", stop="$9")
        assert (item.note, item.target_price, item.stop_price) == ("breakout", Decimal("12.5"), Decimal("9"))
        with pytest.raises(InvalidInput):
            services.update_item(trader, item.id, target="-1")
        services.move_item(trader, item.id, b.id)
        assert item.watchlist_id == b.id and item.note == "breakout" and item.price_added == Decimal("10")
        dup = db.session.scalar(select(WatchlistItem).where(WatchlistItem.watchlist_id == a.id))
        with pytest.raises(InvalidInput):
            services.move_item(trader, dup.id, b.id)  # BBB is already in B


def test_csv_import_parsing():
    assert services.symbols_from_csv(b"Symbol,Qty\naapl,1\nMSFT,2\n") == ["AAPL", "MSFT"]
    assert services.symbols_from_csv("nvda\namd\n") == ["NVDA", "AMD"]
    assert services.symbols_from_csv(b"\xef\xbb\xbfticker\nBRK.B\n=cmd()\n") == ["BRK.B"]


def test_owner_scoping_in_services(universe, trader, factories):
    other = factories.user()
    wl = services.create_watchlist(trader, "Mine")
    services.add_symbols(trader, wl.id, ["AAA"])
    item = db.session.scalar(select(WatchlistItem))
    for call in (lambda: services.get_owned(other, wl.id), lambda: services.rename_watchlist(other, wl.id, "x"),
                 lambda: services.delete_watchlist(other, wl.id), lambda: services.add_symbols(other, wl.id, ["BBB"]),
                 lambda: services.update_item(other, item.id, note="x"), lambda: services.remove_item(other, item.id)):
        with pytest.raises(NotFound):
            call()
    assert services.get_watchlist(other, wl.id) is None and services.watchlist_stock_ids(wl) == [universe["AAA"].id]


# ------------------------------------------------------------------ pages
@pytest.fixture()
def signed_in(client, login, trader, universe):
    login(trader)
    return token(client.get("/watchlists").get_data(as_text=True))


def test_login_required_on_every_route(client, db):
    for url in ("/watchlists", "/watchlists/1", "/watchlists/1/live"):
        r = client.get(url)
        assert r.status_code in (302, 303) and "/login" in r.headers["Location"], url
    for url in ("/watchlists", "/watchlists/1/rename", "/watchlists/1/delete", "/watchlists/1/items",
                "/watchlists/add", "/watchlists/items/1", "/watchlists/items/1/delete", "/watchlists/items/1/move"):
        assert client.post(url).status_code in (302, 303, 400), url


def test_pages_create_add_paste_import_and_view(client, signed_in, trader):
    t = signed_in
    r = client.post("/watchlists", data={"csrf_token": t, "name": "Swing"})
    wl = db.session.scalar(select(Watchlist))
    assert r.headers["Location"].endswith(f"/watchlists/{wl.id}")
    client.post(f"/watchlists/{wl.id}/items", data={"csrf_token": t, "symbol": "aaa", "target_price": "11", "stop_price": "9.5"})
    client.post(f"/watchlists/{wl.id}/items", data={"csrf_token": t, "symbols": "BBB, CCC zzzz"})
    client.post(f"/watchlists/{wl.id}/items", data={"csrf_token": t, "csv": (io.BytesIO(b"symbol\nDDD\n"), "list.csv")},
                content_type="multipart/form-data")
    assert services.watchlist_stock_ids(wl) and len(services.watchlist_stock_ids(wl)) == 4
    page = client.get(f"/watchlists/{wl.id}").get_data(as_text=True)
    assert re.findall(r'class="sym" href="/stocks/(\w+)"', page) == ["AAA", "BBB", "CCC", "DDD"]
    assert 'value="11.00"' in page and 'value="9.50"' in page and "simulated data" in page
    flashes = client.get(f"/watchlists/{wl.id}")  # flashes consumed above; add again to see messages
    client.post(f"/watchlists/{wl.id}/items", data={"csrf_token": t, "symbols": "AAA QQQQ"})
    page = client.get(f"/watchlists/{wl.id}").get_data(as_text=True)
    assert "Already in the list: AAA" in page and "Unknown symbols: QQQQ" in page
    assert flashes.status_code == 200
    # /watchlists goes to the first list
    assert client.get("/watchlists").headers["Location"].endswith(f"/watchlists/{wl.id}")


def test_second_list_on_free_plan_shows_upgrade_message(client, signed_in):
    client.post("/watchlists", data={"csrf_token": signed_in, "name": "One"})
    r = client.post("/watchlists", data={"csrf_token": signed_in, "name": "Two"}, follow_redirects=True)
    body = r.get_data(as_text=True)
    assert "Free plan allows 1 watchlist" in body and 'href="/account"' in body
    assert db.session.scalar(select(func.count()).select_from(Watchlist)) == 1


def test_csrf_is_required(client, signed_in):
    assert client.post("/watchlists", data={"name": "X"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Watchlist)) == 0


def test_other_users_ids_are_404(client, login, universe, trader, factories):
    wl = services.create_watchlist(trader, "Mine")
    services.add_symbols(trader, wl.id, ["AAA"])
    item = db.session.scalar(select(WatchlistItem))
    other = factories.user()
    login(other)
    t = token(client.get("/watchlists?all=1").get_data(as_text=True))
    for url in (f"/watchlists/{wl.id}", f"/watchlists/{wl.id}/live"):
        assert client.get(url).status_code == 404, url
    for url in (f"/watchlists/{wl.id}/rename", f"/watchlists/{wl.id}/delete", f"/watchlists/{wl.id}/items",
                f"/watchlists/items/{item.id}", f"/watchlists/items/{item.id}/delete", f"/watchlists/items/{item.id}/move"):
        assert client.post(url, data={"csrf_token": t, "name": "x", "symbol": "BBB", "to": wl.id}).status_code == 404, url
    # quick add to someone else's list id
    assert client.post("/watchlists/add", data={"csrf_token": t, "symbol": "BBB", "watchlist_id": wl.id}).status_code == 404
    assert services.watchlist_stock_ids(wl) == [universe["AAA"].id]


def test_quick_add_from_the_screener(client, hx, signed_in, trader):
    r = hx.post("/watchlists/add", data={"csrf_token": signed_in, "symbol": "CCC"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "✓ In" in body and "My watchlist" in body
    wl = db.session.scalar(select(Watchlist))
    assert wl.owner_id == trader.id and wl.name == "My watchlist"
    again = hx.post("/watchlists/add", data={"csrf_token": signed_in, "symbol": "CCC", "watchlist_id": wl.id})
    assert "Already in" in again.get_data(as_text=True)
    bad = hx.post("/watchlists/add", data={"csrf_token": signed_in, "symbol": "NOPE"})
    assert "Unknown symbol" in bad.get_data(as_text=True)
    # without HTMX: back to where the person was (never to another site)
    r = client.post("/watchlists/add", data={"csrf_token": signed_in, "symbol": "AAA", "next": "/screener?f=rsi:lt:30"})
    assert r.headers["Location"].endswith("/screener?f=rsi:lt:30")
    r = client.post("/watchlists/add", data={"csrf_token": signed_in, "symbol": "BBB", "next": "//evil.example/"})
    assert "evil" not in r.headers["Location"]


def test_live_fragment_etag_and_304(client, hx, signed_in, trader):
    wl = services.create_watchlist(trader, "Mine")
    services.add_symbols(trader, wl.id, ["AAA"])
    r = hx.get(f"/watchlists/{wl.id}/live")
    assert r.status_code == 200 and "HX-Request" in r.headers["Vary"]
    assert r.get_data(as_text=True).lstrip().startswith('<section id="wl-items"')
    etag = r.headers["ETag"]
    assert hx.get(f"/watchlists/{wl.id}/live", headers={"If-None-Match": etag}).status_code == 304
    services.add_symbols(trader, wl.id, ["BBB"])  # the list changed
    r2 = hx.get(f"/watchlists/{wl.id}/live", headers={"If-None-Match": etag})
    assert r2.status_code == 200 and "BBB" in r2.get_data(as_text=True)
    bump_snapshot_version()  # new quotes
    assert hx.get(f"/watchlists/{wl.id}/live", headers={"If-None-Match": r2.headers["ETag"]}).status_code == 200


def test_home_widgets(client, signed_in, trader):
    page = client.get("/home").get_data(as_text=True)
    assert "Top movers" in page and "Nothing watched yet" in page
    gainers = page[page.index("Gainers"):page.index("Losers")]
    assert re.findall(r'class="sym" href="/stocks/(\w+)"', gainers) == ["AAA", "EEE"]
    wl = services.create_watchlist(trader, "Core")
    services.add_symbols(trader, wl.id, ["DDD"])
    page = client.get("/home").get_data(as_text=True)
    assert "Core" in page and "/stocks/DDD" in page[page.index("Core"):]
