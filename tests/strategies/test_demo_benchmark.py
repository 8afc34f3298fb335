"""`make run`'s demo strategies trade stocks of the new market and are scored against SPY."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db as _db
from app.models import Backtest, LeaderboardEntry, Stock, Strategy


def test_demo_strategies_use_the_spy_benchmark(db):
    from app.market.services import load_demo_market
    from app.strategies.demo import load_demo_strategies

    load_demo_market()
    load_demo_strategies(n=6, sessions=100)
    labels = {m["benchmark"] for m in _db.session.scalars(select(Backtest.metrics))}
    assert labels == {"SPY buy-and-hold"}
    etfs = set(_db.session.scalars(select(Stock.symbol).where(Stock.asset_type == "etf")))
    for s in _db.session.scalars(select(Strategy)):
        assert s.benchmark == "SPY" and not set(s.symbols) & etfs
    entries = _db.session.scalars(select(LeaderboardEntry)).all()
    assert entries
    # the benchmark sub-score is computed (SPY has bars), never "not scored"
    # the benchmark sub-score is computed against SPY, not "not scored" (0/20 for everyone)
    from app.strategies import queries

    scored = [e.strategy_id for e in entries]
    bench = [queries.forward_scores(_db.session.get(Strategy, sid)) for sid in set(scored)]
    subs = [tf["components"]["performance"]["subs"]["benchmark"] for b in bench if b for tf in b.values()]
    assert subs and all(s["why"] is None and s["benchmark_return"] is not None for s in subs)
    assert any(s["points"] > 0 for s in subs)
