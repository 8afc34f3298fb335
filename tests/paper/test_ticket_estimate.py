"""The order ticket from a stock page: Buy / Sell open it pre-filled (/paper/trade), and its
estimate fragment (/paper/<id>/estimate) shows the live quote, the estimated fill with the
account's slippage, the cost, the buying power left and the position-size cap, with exact
figures computed by the server (nothing the browser sends is taken as a price)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order


@pytest.fixture()
def ticket(client, login, trader, account, market):
    login(trader)
    stock = market.add("TKT", 100.0)
    return account, stock


def _estimate(client, account, **args) -> str:
    r = client.get(f"/paper/{account.id}/estimate", query_string=args)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _value(html: str, key: str) -> str:
    match = re.search(rf'data-est-{key}>([^<]*)', html)
    assert match, f"no data-est-{key} in {html}"
    return match.group(1).strip()


def test_market_buy_estimate_exact_figures(client, ticket):
    account, _ = ticket
    html = _estimate(client, account, symbol="tkt", side="buy", qty="10", type="market")
    assert _value(html, "quote") == "100.00"
    assert _value(html, "fill") == "10 × 100.05"  # 5 bps slippage against the buyer
    assert _value(html, "cost") == "$1,000.50"
    assert _value(html, "bp-after") == "$98,999.50"
    assert _value(html, "cap") == "$25,000.00"
    assert "25 % of equity, up to 250 shares" in html
    assert "data-est-problem" not in html


def test_client_price_is_ignored(client, ticket):
    """A price smuggled into the request changes nothing: the quote comes from the database."""
    account, _ = ticket
    html = _estimate(client, account, symbol="TKT", side="buy", qty="10", price="1", est_price="1")
    assert _value(html, "cost") == "$1,000.50"


def test_limit_order_is_sized_at_the_limit(client, ticket):
    account, _ = ticket
    html = _estimate(client, account, symbol="TKT", side="buy", qty="10", type="limit", limit_price="90")
    assert _value(html, "fill") == "10 × 90.05"  # 90 * 1.0005 = 90.045, shown to the cent
    assert _value(html, "cost") == "$900.45"


def test_amount_sizes_whole_shares(client, ticket):
    account, _ = ticket
    html = _estimate(client, account, symbol="TKT", side="buy", amount="1050")
    assert _value(html, "fill") == "10 × 100.05"


def test_over_the_cap_and_over_buying_power_say_so(client, ticket):
    account, _ = ticket
    html = _estimate(client, account, symbol="TKT", side="buy", qty="300")
    assert ("Position cap: TKT would be $30,000.00, more than 25% of equity ($25,000.00).") in html
    html = _estimate(client, account, symbol="TKT", side="buy", qty="1000")
    assert "Insufficient buying power: this order needs $100,050.00, you have $100,000.00." in html


def test_sell_without_a_position(client, ticket):
    account, _ = ticket
    html = _estimate(client, account, symbol="TKT", side="sell", qty="5")
    assert _value(html, "cost") == "$499.75"  # proceeds: 5 * 99.95
    assert "You hold 0 shares of TKT; you cannot sell 5." in html


def test_hints_without_symbol_or_quantity(client, ticket):
    account, _ = ticket
    assert "Enter a symbol to see its live quote." in _estimate(client, account)
    assert "Unknown symbol NOPE." in _estimate(client, account, symbol="nope")
    html = _estimate(client, account, symbol="TKT")
    assert "Enter a quantity or an amount to see the cost." in html
    assert _value(html, "bp") == "$100,000.00"
    assert "Quantity must be a whole number" in _estimate(client, account, symbol="TKT", qty="1.5")


def test_estimate_is_owner_scoped_and_writes_nothing(client, login, ticket, factories):
    account, _ = ticket
    login(factories.user())
    assert client.get(f"/paper/{account.id}/estimate?symbol=TKT&qty=1").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_ticket_carries_the_estimate_region(client, ticket):
    account, _ = ticket
    page = client.get(f"/paper/{account.id}").get_data(as_text=True)
    assert f'hx-get="/paper/{account.id}/estimate"' in page
    assert 'id="ticket-estimate"' in page


def test_buy_sell_open_the_ticket_prefilled(client, ticket):
    account, _ = ticket
    r = client.get("/paper/trade?symbol=tkt&side=sell")
    assert r.status_code == 303
    assert r.headers["Location"] == f"/paper/{account.id}?symbol=TKT&side=sell#ticket"
    page = client.get(f"/paper/{account.id}?symbol=TKT&side=sell").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="symbol"[^>]*value="TKT"', page)
    assert re.search(r'<option selected value="sell">|<option value="sell" selected>', page)


def test_trade_with_another_users_account_is_404(client, login, ticket, factories):
    from app.paper import services

    other = services.open_account(factories.user(), "Theirs")
    assert client.get(f"/paper/trade?symbol=TKT&side=buy&account={other.id}").status_code == 404
    assert client.get("/paper/trade?symbol=TKT&side=buy&account=99999999999999999999").status_code == 404


def test_trade_without_an_account_goes_to_open_one(client, login, factories, market):
    login(factories.user())
    r = client.get("/paper/trade?symbol=TKT&side=buy")
    assert r.status_code == 303 and r.headers["Location"] == "/paper"


def test_a_stale_quote_is_flagged_before_submitting(client, ticket, market):
    import datetime as dt

    from app.database import utcnow

    account, _ = ticket
    market.add("OLD", 50.0, as_of=utcnow() - dt.timedelta(minutes=10))
    html = _estimate(client, account, symbol="OLD", side="buy", qty="1")
    assert "The last quote for OLD is from" in html and "it is too old to trade on" in html
    assert "too old" not in _estimate(client, account, symbol="OLD", side="buy", qty="1", type="limit",
                                      limit_price="49")


def test_sell_prefills_the_position(client, ticket, trader):
    from app.paper import services

    account, _ = ticket
    services.place_order(trader, account.id, symbol="TKT", side="buy", qty=7)
    page = client.get(f"/paper/{account.id}?symbol=TKT&side=sell").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="qty"[^>]*value="7"', page) or re.search(r'<input[^>]*value="7"[^>]*id="qty"', page)
    buy = client.get(f"/paper/{account.id}?symbol=TKT&side=buy").get_data(as_text=True)
    assert not re.search(r'<input[^>]*id="qty"[^>]*value="7"', buy)


def test_large_quantities_read_with_separators(client, ticket):
    account, _ = ticket
    assert _value(_estimate(client, account, symbol="TKT", qty="12000"), "fill") == "12,000 × 100.05"
