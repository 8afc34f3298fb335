"""Strategies fixtures: stocks with deterministic daily bars and a snapshot."""
from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from app.database import utcnow
from app.extensions import db as _db
from app.models import Bar, Snapshot, Stock

_n = itertools.count(1)


def sessions(n: int, end: dt.date | None = None) -> list[dt.date]:
    """n weekdays ending at ``end`` (default: yesterday)."""
    day = end or (utcnow().date() - dt.timedelta(days=1))
    out = []
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day -= dt.timedelta(days=1)
    return out[::-1]


class Bars:
    def add(self, symbol: str | None = None, closes=None, n: int = 300, seed: int = 0, end: dt.date | None = None,
            opens=None, highs=None, lows=None) -> Stock:
        symbol = symbol or f"S{next(_n)}"
        if closes is None:
            rng = np.random.default_rng(seed)
            closes = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.02, n)))
        closes = np.asarray(closes, dtype=float)
        n = closes.size
        opens = np.asarray(opens if opens is not None else np.r_[closes[0], closes[:-1]], dtype=float)
        highs = np.asarray(highs if highs is not None else np.maximum(opens, closes) * 1.01, dtype=float)
        lows = np.asarray(lows if lows is not None else np.minimum(opens, closes) * 0.99, dtype=float)
        days = sessions(n, end)
        stock = Stock(symbol=symbol, name=f"{symbol} Inc.", exchange="NYSE", active=True)
        _db.session.add(stock)
        _db.session.flush()
        _db.session.add_all([Bar(stock_id=stock.id, interval="1d",
                                 ts=dt.datetime.combine(d, dt.time(), tzinfo=dt.UTC), open=float(o), high=float(h),
                                 low=float(lo), close=float(c), volume=1_000_000)
                             for d, o, h, lo, c in zip(days, opens, highs, lows, closes, strict=True)])
        _db.session.add(Snapshot(stock_id=stock.id, price=float(closes[-1]), as_of=utcnow(), source="test", volume=0))
        _db.session.commit()
        return stock


@pytest.fixture()
def bars(db):
    return Bars()


@pytest.fixture()
def owner(factories):
    return factories.user()


@pytest.fixture()
def other(factories):
    return factories.user()


@pytest.fixture()
def strategy(owner, bars):
    from app.strategies import services

    bars.add("AAA", seed=1)
    bars.add("BBB", seed=2)
    return services.create_strategy(owner, name="SMA 5/20", category="momentum", universe="AAA, BBB",
                                    entry_rule="crosses_above(sma(close, 5), sma(close, 20))",
                                    exit_rule="crosses_below(sma(close, 5), sma(close, 20))",
                                    sizing_pct="20", stop_loss_pct="", take_profit_pct="", visibility="public")
