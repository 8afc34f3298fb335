""""+ Watch" on the stock page: the trader picks one of their lists; the HTMX answer names it.
Owner scoping (someone else's list id is a 404 and adds nothing) and CSRF (required)."""
from __future__ import annotations

import re
from unittest.mock import patch

import pytest
from sqlalchemy import func, select

from app.billing.plans import PLANS
from app.extensions import db
from app.models import WatchlistItem
from app.watchlists import services


def token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture()
def lists(client, login, universe, trader):
    """The trader (on Pro: several lists) signed in, with lists "Tech" and "Energy"."""
    with patch("app.watchlists.services.plan_for", return_value=PLANS["pro"]):
        tech = services.create_watchlist(trader, "Tech")
        energy = services.create_watchlist(trader, "Energy")
    login(trader)
    return tech, energy


def _items(wl) -> list[str]:
    return [i.stock.symbol for i in db.session.scalars(select(WatchlistItem).where(WatchlistItem.watchlist_id == wl.id))]


def test_stock_page_offers_my_lists_and_trade_buttons(client, lists, factories):
    tech, energy = lists
    with patch("app.watchlists.services.plan_for", return_value=PLANS["pro"]):
        services.create_watchlist(factories.user(), "Not mine")
    page = client.get("/stocks/AAA").get_data(as_text=True)
    options = re.findall(r'<select id="watch-list"[^>]*>(.*?)</select>', page, re.S)[0]
    assert re.findall(r'<option value="(\d+)">([^<]+)</option>', options) == [(str(tech.id), "Tech"),
                                                                               (str(energy.id), "Energy")]
    assert 'action="/paper/trade"' in page
    assert re.search(r'name="side" value="buy"[^>]*>Buy</button>', page)
    assert re.search(r'name="side" value="sell"[^>]*>Sell</button>', page)


def test_watch_adds_to_the_chosen_list(client, hx, lists):
    tech, energy = lists
    csrf = token(client.get("/stocks/AAA").get_data(as_text=True))
    r = hx.post("/watchlists/add", data={"csrf_token": csrf, "symbol": "AAA", "watchlist_id": energy.id})
    assert r.status_code == 200
    assert "✓ In" in r.get_data(as_text=True) and "Energy" in r.get_data(as_text=True)
    assert _items(energy) == ["AAA"] and _items(tech) == []
    again = hx.post("/watchlists/add", data={"csrf_token": csrf, "symbol": "AAA", "watchlist_id": energy.id})
    assert "Already in" in again.get_data(as_text=True)


def test_watch_into_someone_elses_list_is_404(client, hx, lists, factories):
    theirs = services.create_watchlist(factories.user(), "Theirs")
    csrf = token(client.get("/stocks/AAA").get_data(as_text=True))
    for c in (hx, client):
        r = c.post("/watchlists/add", data={"csrf_token": csrf, "symbol": "AAA", "watchlist_id": theirs.id})
        assert r.status_code == 404
    r = hx.post("/watchlists/add", data={"csrf_token": csrf, "symbol": "AAA", "watchlist_id": "99999999999999999999"})
    assert r.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(WatchlistItem)) == 0


def test_watch_requires_csrf(client, hx, lists):
    tech, _ = lists
    r = hx.post("/watchlists/add", data={"symbol": "AAA", "watchlist_id": tech.id})
    assert r.status_code == 400
    r = hx.post("/watchlists/add", data={"csrf_token": "forged", "symbol": "AAA", "watchlist_id": tech.id})
    assert r.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(WatchlistItem)) == 0
