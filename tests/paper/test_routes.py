"""The /paper pages: login, owner scoping, CSRF, validation (422), the ticket, the live
fragment, cancel/close/reset and the equity JSON."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Fill, Order, PaperAccount
from app.paper import services


def token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture()
def setup(client, login, trader, account, market):
    login(trader)
    stock = market.add("AAPL", 100.0)
    page = client.get(f"/paper/{account.id}").get_data(as_text=True)
    return account, stock, token(page)


def test_login_required_on_every_route(client, db):
    for url in ("/paper", "/paper/1", "/paper/1/live", "/paper/1/equity.json", "/paper/1/reset", "/paper/symbols?symbol=A"):
        r = client.get(url)
        assert r.status_code in (302, 303) and "/login" in r.headers["Location"], url
    for url in ("/paper/accounts", "/paper/1/orders", "/paper/orders/1/cancel", "/paper/1/positions/1/close",
                "/paper/1/reset"):
        r = client.post(url)
        assert r.status_code in (302, 303, 400), url
        assert db.session.scalar(select(func.count()).select_from(PaperAccount)) == 0


def test_other_users_ids_are_404(client, login, account, market, factories, trader):
    stock = market.add("OWN", 10.0)
    order = services.place_order(trader, account.id, symbol="OWN", side="buy", qty=1, type="limit", limit_price="5")
    other = factories.user()
    login(other)
    page = client.get("/paper").get_data(as_text=True)
    t = token(page)
    for url in (f"/paper/{account.id}", f"/paper/{account.id}/live", f"/paper/{account.id}/equity.json",
                f"/paper/{account.id}/reset"):
        assert client.get(url).status_code == 404, url
    for url in (f"/paper/{account.id}/orders", f"/paper/orders/{order.id}/cancel",
                f"/paper/{account.id}/positions/{stock.id}/close", f"/paper/{account.id}/reset"):
        assert client.post(url, data={"csrf_token": t, "symbol": "OWN", "side": "buy", "qty": "1",
                                      "confirm": "Main"}).status_code == 404, url
    assert db.session.get(Order, order.id).status == "open"


def test_csrf_is_required(client, setup):
    account, stock, t = setup
    r = client.post(f"/paper/{account.id}/orders", data={"symbol": "AAPL", "side": "buy", "qty": "1"})
    assert r.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_index_and_create_account(client, login, trader):
    login(trader)
    page = client.get("/paper")
    assert page.status_code == 200 and b"No paper account yet" in page.data
    t = token(page.get_data(as_text=True))
    r = client.post("/paper/accounts", data={"csrf_token": t, "name": "Swing", "starting_balance": "25000",
                                             "slippage_bps": "5", "commission": "0"})
    assert r.status_code == 303
    acct = db.session.scalar(select(PaperAccount))
    assert acct.cash == 25000 and r.headers["Location"].endswith(f"/paper/{acct.id}")
    # the free plan allows one account
    r = client.post("/paper/accounts", data={"csrf_token": t, "name": "Two", "starting_balance": "1000"})
    assert r.status_code == 403 and b"Upgrade" in r.data
    r = client.post("/paper/accounts", data={"csrf_token": t, "name": "", "starting_balance": "x"})
    assert r.status_code == 422


def test_ticket_places_order_over_htmx(hx, client, setup):
    account, stock, t = setup
    r = hx.post(f"/paper/{account.id}/orders", data={"csrf_token": t, "symbol": "aapl", "side": "buy", "qty": "10",
                                                     "type": "market", "tif": "day", "idempotency_key": "abc"})
    assert r.status_code == 200
    assert "paper-order-placed" in r.headers["HX-Trigger"]
    assert b"Filled: buy 10 AAPL at $100.05" in r.data
    assert b'name="idempotency_key"' in r.data and b'value="abc"' not in r.data  # a fresh key
    # the same form posted twice: refused, nothing written
    r = hx.post(f"/paper/{account.id}/orders", data={"csrf_token": t, "symbol": "AAPL", "side": "buy", "qty": "10",
                                                     "type": "market", "tif": "day", "idempotency_key": "abc"})
    assert r.status_code == 422 and b"already submitted" in r.data
    assert db.session.scalar(select(func.count()).select_from(Fill)) == 1
    page = client.get(f"/paper/{account.id}").get_data(as_text=True)
    assert "AAPL" in page and "100.05" in page


@pytest.mark.parametrize("data, message", [
    ({"symbol": "NOPE", "qty": "1"}, b"Unknown symbol NOPE"),
    ({"symbol": "AAPL", "qty": "1.5"}, b"no fractions"),
    ({"symbol": "AAPL", "qty": "-1"}, b"at least 1 share"),
    ({"symbol": "AAPL", "qty": "1", "type": "limit"}, b"limit price is required"),
    ({"symbol": "AAPL", "qty": "1", "type": "bogus"}, b"Not a valid choice"),
    ({"symbol": "AAPL", "qty": "1", "take_profit": "50"}, b"Take-profit must be above"),
    ({"symbol": "", "qty": "1"}, b"Enter a symbol"),
    ({"symbol": "AAPL", "qty": "99999"}, b"Insufficient buying power"),
])
def test_bad_input_is_422_with_a_message(hx, client, setup, data, message):
    account, stock, t = setup
    form = {"csrf_token": t, "side": "buy", "type": "market", "tif": "day", **data}
    r = hx.post(f"/paper/{account.id}/orders", data=form)
    assert r.status_code == 422
    assert message in r.data
    r = client.post(f"/paper/{account.id}/orders", data=form)  # without JavaScript: the page, 422
    assert r.status_code == 422 and message in r.data
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_live_fragment_and_etag(client, setup, trader):
    account, stock, t = setup
    services.place_order(trader, account.id, symbol="AAPL", side="buy", qty=10)
    r = client.get(f"/paper/{account.id}/live")
    assert r.status_code == 200 and b'id="paper-live"' in r.data and b"AAPL" in r.data
    assert b'hx-trigger="every 15s' in r.data and b"data-poll" in r.data
    etag = r.headers["ETag"]
    assert client.get(f"/paper/{account.id}/live", headers={"If-None-Match": etag}).status_code == 304
    services.place_order(trader, account.id, symbol="AAPL", side="buy", qty=1)
    assert client.get(f"/paper/{account.id}/live", headers={"If-None-Match": etag}).status_code == 200


def test_cancel_close_and_reset(client, setup, trader, market):
    account, stock, t = setup
    order = services.place_order(trader, account.id, symbol="AAPL", side="buy", qty=5, type="limit", limit_price="90")
    r = client.post(f"/paper/orders/{order.id}/cancel", data={"csrf_token": t})
    db.session.expire_all()
    assert r.status_code == 303 and db.session.get(Order, order.id).status == "cancelled"
    services.place_order(trader, account.id, symbol="AAPL", side="buy", qty=5)
    r = client.post(f"/paper/{account.id}/positions/{stock.id}/close", data={"csrf_token": t})
    assert r.status_code == 303
    db.session.expire_all()
    assert services.account_summary(account).positions == []
    page = client.get(f"/paper/{account.id}").get_data(as_text=True)
    assert 'id="trades"' in page
    assert client.get(f"/paper/{account.id}/reset").status_code == 200
    r = client.post(f"/paper/{account.id}/reset", data={"csrf_token": t, "confirm": "wrong"})
    assert r.status_code == 422 and "exactly to confirm" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Order)) > 0
    r = client.post(f"/paper/{account.id}/reset", data={"csrf_token": t, "confirm": "Main"})
    assert r.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_equity_json_and_symbols(client, setup, trader):
    account, stock, t = setup
    services.place_order(trader, account.id, symbol="AAPL", side="buy", qty=10)
    services.snapshot_equity(dt.date(2025, 11, 24))
    data = client.get(f"/paper/{account.id}/equity.json").get_json()
    assert data["equity"] == [{"time": "2025-11-24", "value": 99999.5}]
    assert client.get(f"/paper/{account.id}/equity.json?window=bad").status_code == 422
    r = client.get("/paper/symbols?symbol=aa")
    assert b'<option value="AAPL">' in r.data


def test_ids_beyond_bigint_are_404_not_500(client, setup):
    account, stock, t = setup
    huge = "99999999999999999999"
    for url in (f"/paper/{huge}", f"/paper/{huge}/live", f"/paper/{huge}/equity.json", f"/paper/{huge}/reset"):
        assert client.get(url).status_code == 404, url
    for url in (f"/paper/{huge}/orders", f"/paper/orders/{huge}/cancel", f"/paper/{account.id}/positions/{huge}/close",
                f"/paper/{huge}/positions/{stock.id}/close", f"/paper/{huge}/reset"):
        assert client.post(url, data={"csrf_token": t}).status_code == 404, url
