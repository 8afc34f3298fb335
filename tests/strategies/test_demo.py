"""Demo strategies are produced by the engine and the paper ledger, not invented."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import Backtest, EquitySnapshot, LeaderboardEntry, Order, Snapshot, Strategy, Trade


def test_demo_strategies_are_backtested_and_tracked_through_the_ledger(db):
    from app.market.services import load_demo_market
    from app.strategies.demo import load_demo_strategies

    load_demo_market()
    before = dict(_db.session.execute(select(Snapshot.stock_id, Snapshot.price)).all())
    stats = load_demo_strategies(n=12, sessions=100)
    assert stats["strategies"] == 12 and stats["orders"] > 0
    assert _db.session.scalar(select(func.count()).select_from(Backtest).where(Backtest.status == "succeeded")) == 12
    assert _db.session.scalar(select(func.count()).select_from(Strategy).where(Strategy.status == "tracking")) == 12
    # every forward trade came from a strategy order filled by the ledger
    n_trades = _db.session.scalar(select(func.count()).select_from(Trade))
    assert n_trades > 50
    sources = set(_db.session.scalars(select(Order.source).distinct()))
    assert sources == {"strategy"}
    assert _db.session.scalar(select(func.count(func.distinct(EquitySnapshot.session)))) == 100
    assert _db.session.scalar(select(func.count()).select_from(LeaderboardEntry)) > 0
    # the market's snapshots are back as the loader left them
    after = dict(_db.session.execute(select(Snapshot.stock_id, Snapshot.price)).all())
    assert after == before
    assert load_demo_strategies(n=12, sessions=100) == {"strategies": 0}  # idempotent
