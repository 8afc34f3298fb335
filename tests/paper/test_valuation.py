"""One price, one rounding rule: the end-of-day equity snapshot values positions exactly as
the account page does (snapshot price rounded to 4 decimals, times the shares). The
snapshot once summed ``qty x raw price`` and rounded the sum: $1.61 off on 50,000 shares."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from app.extensions import db
from app.models import EquitySnapshot
from app.paper import services

SESSION = dt.date(2025, 11, 24)


def test_snapshot_equity_equals_the_account_page_equity_on_50000_shares(client, login, trader, market):
    acct = services.open_account(trader, "Big", 10_000_000, position_cap_pct=100)
    stock = market.add("BIG", 100.0)
    services.place_order(trader, acct.id, symbol="BIG", side="buy", qty=50_000)
    market.set(stock, 101.23456789)  # more than 4 decimals
    services.snapshot_equity(SESSION)
    snap = db.session.get(EquitySnapshot, (acct.id, SESSION))
    db.session.refresh(acct)
    page = services.account_summary(acct)
    assert snap.positions_value == page.positions_value == 50_000 * D("101.2346") == D("5061730.0000")
    assert snap.equity == page.equity == acct.cash + D("5061730")
    # what the trader sees: the account page, its live region and the equity JSON
    login(trader)
    html = client.get(f"/paper/{acct.id}").get_data(as_text=True)
    assert f"${snap.equity:,.2f}" in html
    data = client.get(f"/paper/{acct.id}/equity.json").get_json()
    assert data["equity"][-1]["value"] == data["current"] == float(page.equity)


def test_short_positions_and_missing_quotes_are_valued_alike(trader, market):
    acct = services.open_account(trader, "Short", 10_000_000, position_cap_pct=100, allow_short=True)
    short = market.add("SHRT", 50.0)
    services.place_order(trader, acct.id, symbol="SHRT", side="short", qty=50_000)
    market.set(short, 49.87654321)
    services.snapshot_equity(SESSION)
    snap = db.session.get(EquitySnapshot, (acct.id, SESSION))
    db.session.refresh(acct)
    page = services.account_summary(acct)
    assert snap.positions_value == page.positions_value == -50_000 * D("49.8765")
    assert snap.equity == page.equity


def test_one_valuation_function():
    assert services.mark(101.23456789) == D("101.2346")
    assert services.mark(None) is None
    assert services.market_value(50_000, 101.23456789, D("1")) == D("5061730.0000")
    assert services.market_value(-3, None, D("12.5")) == D("-37.5")  # no quote: the average price
