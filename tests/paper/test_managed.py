"""Managed accounts (a strategy's forward tracking) are untouchable by hand: every /paper
route answers 404 for them, even to their owner, and nothing in the ledger changes. The
strategy's owner once cancelled the take-profit leg of its bracket (303) and so could
steer the leaderboard."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.errors import NotFound
from app.extensions import db
from app.models import EquitySnapshot, Fill, Order, PaperAccount, Position, Trade
from app.paper import services


def token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def ledger_state(account_id: int) -> dict:
    """Every ledger row of the account, as plain values (to compare before/after)."""
    db.session.expire_all()
    acct = db.session.get(PaperAccount, account_id)

    def rows(model, *cols):
        return sorted(tuple(getattr(r, c) for c in cols)
                      for r in db.session.scalars(select(model).where(model.account_id == account_id)))

    return {
        "account": (acct.cash, acct.realised_pnl, acct.commissions_paid, acct.starting_balance, acct.version,
                    acct.reset_at, acct.name, acct.managed),
        "orders": rows(Order, "id", "status", "qty", "updated_at"),
        "fills": rows(Fill, "id", "qty", "price"),
        "positions": rows(Position, "id", "stock_id", "qty", "cost_basis"),
        "trades": rows(Trade, "id", "pnl"),
        "snapshots": rows(EquitySnapshot, "session", "equity"),
    }


@pytest.fixture()
def managed(trader, market):
    """The trader's strategy account: a filled entry with its take-profit and stop-loss legs open."""
    stock = market.add("MGD", 100.0)
    acct = services.open_managed_account(trader, "Strategy #1", 100000, position_cap_pct=50)
    entry = services.place_system_order(acct, symbol="MGD", side="buy", qty=10, take_profit="120",
                                        stop_loss="90")
    legs = {o.role: o for o in db.session.scalars(select(Order).where(Order.parent_id == entry.id))}
    assert entry.status == "filled" and {o.status for o in legs.values()} == {"open"}
    return acct, stock, legs["take_profit"]


@pytest.fixture()
def owner_client(client, login, trader, account):
    """The managed account's owner, signed in (with an account of their own for a CSRF token)."""
    login(trader)
    return client, token(client.get(f"/paper/{account.id}").get_data(as_text=True))


def _write_routes(acct, stock, leg):
    return [
        ("cancel the take-profit leg", f"/paper/orders/{leg.id}/cancel", {}),
        ("close the position", f"/paper/{acct.id}/positions/{stock.id}/close", {}),
        ("reset", f"/paper/{acct.id}/reset", {"confirm": acct.name, "starting_balance": "5000"}),
        ("place an order", f"/paper/{acct.id}/orders",
         {"symbol": "MGD", "side": "sell", "qty": "10", "type": "market", "tif": "day", "idempotency_key": "k1"}),
    ]


@pytest.mark.parametrize("route", ["cancel the take-profit leg", "close the position", "reset", "place an order"])
def test_every_write_route_is_404_for_a_managed_account_and_changes_nothing(owner_client, managed, route):
    client, t = owner_client
    acct, stock, leg = managed
    url, data = next((u, d) for name, u, d in _write_routes(acct, stock, leg) if name == route)
    before = ledger_state(acct.id)
    r = client.post(url, data={"csrf_token": t, **data})
    assert r.status_code == 404, r.status_code
    assert ledger_state(acct.id) == before
    assert db.session.get(Order, leg.id).status == "open"


@pytest.mark.parametrize("path", ["", "/live", "/equity.json", "/reset"])
def test_every_page_of_a_managed_account_is_404(owner_client, managed, path):
    client, _ = owner_client
    acct, _, _ = managed
    before = ledger_state(acct.id)
    assert client.get(f"/paper/{acct.id}{path}").status_code == 404
    assert ledger_state(acct.id) == before


def test_managed_accounts_are_not_listed_on_paper(owner_client, managed):
    client, _ = owner_client
    page = client.get("/paper").get_data(as_text=True)
    assert "Main" in page and "Strategy #1" not in page


def test_the_user_api_refuses_managed_accounts(trader, managed):
    acct, stock, leg = managed
    before = ledger_state(acct.id)
    with pytest.raises(NotFound):
        services.cancel_order(trader, leg.id)
    with pytest.raises(NotFound):
        services.close_position(trader, acct.id, stock_id=stock.id)
    with pytest.raises(NotFound):
        services.reset_account(trader, acct.id, "5000")
    with pytest.raises(NotFound):
        services.place_order(trader, acct.id, symbol="MGD", side="sell", qty=10)
    with pytest.raises(NotFound):
        services.get_account(trader, acct.id)
    assert services.list_accounts(trader) == []
    db.session.rollback()
    assert ledger_state(acct.id) == before
