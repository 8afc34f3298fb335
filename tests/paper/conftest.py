"""Paper-trading fixtures: stocks with a snapshot price, a clock switch, an account."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from app.database import utcnow
from app.extensions import db as _db
from app.models import Snapshot, Stock

_n = itertools.count(1)


class Market:
    def add(self, symbol: str | None = None, price: float = 100.0, as_of: dt.datetime | None = None) -> Stock:
        symbol = symbol or f"T{next(_n)}"
        stock = Stock(symbol=symbol, name=f"{symbol} Inc.", exchange="NYSE", active=True)
        _db.session.add(stock)
        _db.session.flush()
        _db.session.add(Snapshot(stock_id=stock.id, price=price, as_of=as_of or utcnow(), source="test", volume=0))
        _db.session.commit()
        return stock

    def set(self, stock: Stock, price: float, as_of: dt.datetime | None = None) -> None:
        snap = _db.session.get(Snapshot, stock.id)
        snap.price = price
        snap.as_of = as_of or utcnow()
        _db.session.commit()


@pytest.fixture()
def market(db):
    return Market()


@pytest.fixture()
def calendar_clock(app, monkeypatch):
    """Follow the real XNYS calendar (the default in tests is the always-open demo clock)."""
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "calendar")


@pytest.fixture()
def trader(db, factories):
    return factories.user()


@pytest.fixture()
def account(trader):
    from app.paper import services

    return services.open_account(trader, "Main", 100000)
