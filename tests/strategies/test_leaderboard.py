"""Timeframes are real windows; ranking rules (30 trades, rookies, categories, public);
the page reads the cached ranking with search, pagination and ETag polling."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from app.database import utcnow
from app.extensions import db as _db
from app.models import EquitySnapshot, LeaderboardEntry, Trade
from app.paper import metrics as m
from app.strategies import queries, services
from tests.strategies.conftest import sessions

AXIS = sessions(40)


def tracked(user, bars_stock, name="S", category="momentum", visibility="public", age_days=120):
    s = services.create_strategy(user, name=name, category=category, universe=bars_stock.symbol,
                                 entry_rule="close > 0", exit_rule="close < 0", sizing_pct="10",
                                 visibility=visibility)
    s = services.start_tracking(user, s.id)
    s.tracking_started_at = utcnow() - dt.timedelta(days=age_days)
    _db.session.commit()
    return s


def history(strategy, stock, equity, trade_days, pnl=10.0):
    """Write a forward history into the strategy's ledger account: one equity snapshot per
    session of AXIS[-len(equity):], one closed trade per entry of trade_days."""
    aid = strategy.paper_account_id
    days = AXIS[-len(equity):]
    for d, e in zip(days, equity, strict=True):
        _db.session.add(EquitySnapshot(account_id=aid, session=d, cash=Decimal(str(e)), positions_value=Decimal(0),
                                       equity=Decimal(str(e))))
    for i, d in enumerate(trade_days):
        exit_time = dt.datetime.combine(d, dt.time(15, 0), tzinfo=dt.UTC)
        p = pnl if i % 3 else -pnl / 2
        _db.session.add(Trade(account_id=aid, stock_id=stock.id, side="long", qty=10, entry_price=Decimal("100"),
                              exit_price=Decimal("101"), entry_time=exit_time - dt.timedelta(days=1),
                              exit_time=exit_time, fees=Decimal(0), pnl=Decimal(str(p)),
                              pnl_pct=Decimal(str(p / 10)), holding_seconds=86400))
    _db.session.commit()


@pytest.fixture()
def stock(bars):
    return bars.add("WIN", n=30)


def test_timeframes_are_real_windows(owner, stock):
    s = tracked(owner, stock)
    eq = list(100000 * np.cumprod(np.r_[1, np.full(39, 1.001)]))
    eq[-1] = eq[-2] * 0.98  # a bad last day
    # 1 trade on the last session, 4 more inside the last 5, 10 more inside the last 21, 20 before
    days = [AXIS[-1]] + [AXIS[-2]] * 4 + [AXIS[-10]] * 10 + [AXIS[-30]] * 20
    history(s, stock, eq, days)
    ledger = queries.load_ledger([s.paper_account_id])
    got = {tf: queries.window_inputs(ledger, s.paper_account_id, tf) for tf in ("daily", "weekly", "monthly", "all_time")}
    assert [got[tf].pnls.size for tf in got] == [1, 5, 15, 35]
    assert [got[tf].sessions for tf in got] == [1, 5, 21, 40]
    # daily: the base is the previous close, one return of -2 %
    np.testing.assert_allclose(got["daily"].equity, [eq[-2], eq[-1]])
    np.testing.assert_allclose(got["weekly"].equity, eq[-6:])
    np.testing.assert_allclose(got["monthly"].equity, eq[-22:])
    np.testing.assert_allclose(got["all_time"].equity, [100000.0] + eq)  # from the starting balance
    assert m.total_return(got["daily"].equity) == pytest.approx(-0.02)
    # so the rebuilt rankings differ per timeframe
    queries.rebuild_leaderboard()
    rows = {e.timeframe: e for e in _db.session.query(LeaderboardEntry).filter_by(category="overall")}
    assert rows["daily"].figures["trades"] == 1 and rows["all_time"].figures["trades"] == 35
    assert rows["daily"].figures["annual_return"] < 0 < rows["all_time"].figures["annual_return"]
    assert rows["daily"].score != rows["all_time"].score


def test_ranking_rules(owner, other, stock):
    eq = list(np.linspace(100000, 110000, 40))
    many = [AXIS[-1 - (i % 30)] for i in range(30)]
    ranked = tracked(owner, stock, "Ranked momentum", "momentum")
    history(ranked, stock, eq, many)
    value = tracked(other, stock, "Value one", "value")
    history(value, stock, eq, many)
    too_few = tracked(owner, stock, "Too few", "momentum")
    history(too_few, stock, eq, many[:29])
    rookie = tracked(other, stock, "Rookie", "breakout", age_days=30)
    history(rookie, stock, eq, many)
    private = tracked(owner, stock, "Private", "momentum", visibility="private")
    history(private, stock, eq, many)
    backtest_only = services.create_strategy(owner, name="Backtest only", category="momentum", universe="WIN",
                                             entry_rule="close > 0", exit_rule="close < 0", sizing_pct="10",
                                             visibility="public")
    stats = queries.rebuild_leaderboard()
    assert stats["ranked"] == 3
    board = {(e.category, e.timeframe): [] for e in _db.session.query(LeaderboardEntry)}
    for e in _db.session.query(LeaderboardEntry).order_by(LeaderboardEntry.rank):
        board[(e.category, e.timeframe)].append(e.strategy_id)
    for tf in ("daily", "weekly", "monthly", "all_time"):
        assert sorted(board[("overall", tf)]) == sorted([ranked.id, value.id])
        assert board[("momentum", tf)] == [ranked.id]
        assert board[("rookies", tf)] == [rookie.id]
    ids = {i for v in board.values() for i in v}
    assert too_few.id not in ids and private.id not in ids and backtest_only.id not in ids
    el = queries.eligibility(too_few, 29)
    assert not el["ranked"] and "29 of the 30" in el["reasons"][0]


def _fill_board(owner, stock, n):
    eq = list(np.linspace(100000, 110000, 40))
    days = [AXIS[-1 - (i % 30)] for i in range(30)]
    out = []
    for i in range(n):
        s = tracked(owner, stock, f"Alpha {i:03d}" if i % 2 else f"Beta {i:03d}")
        history(s, stock, [e * (1 + i / 1000) for e in eq], days, pnl=10 + i)
        out.append(s)
    queries.rebuild_leaderboard()
    return out


def test_page_search_pagination_and_etag(client, login, owner, stock):
    _fill_board(owner, stock, 6)
    login(owner)
    r = client.get("/leaderboard?category=overall&timeframe=weekly")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.count('href="/strategies/') >= 6 and owner.display_name in html and owner.email not in html
    r = client.get("/leaderboard/rows?q=alpha&timeframe=weekly")
    html = r.get_data(as_text=True)
    assert "Alpha" in html and "Beta" not in html
    page = queries.board_page("overall", "all_time", "", 2, 4)
    assert page.total == 6 and len(page.rows) == 2 and page.rows[0].rank == 5
    assert queries.board_page("overall", "all_time", per_page=10_000).per_page == 100
    assert client.get("/leaderboard?per_page=5000&page=-3&category=nope&timeframe=zzz").status_code == 200
    # ETag from the ranking's version: unchanged -> 304, rebuilt -> 200
    r = client.get("/leaderboard/rows?timeframe=weekly")
    etag = r.headers["ETag"]
    r2 = client.get("/leaderboard/rows?timeframe=weekly", headers={"If-None-Match": etag})
    assert r2.status_code == 304
    queries.rebuild_leaderboard()
    assert client.get("/leaderboard/rows?timeframe=weekly", headers={"If-None-Match": etag}).status_code == 200


def test_rebuild_replaces_the_ranking_and_ranks_by_score(owner, stock):
    made = _fill_board(owner, stock, 4)
    entries = _db.session.query(LeaderboardEntry).filter_by(category="overall", timeframe="all_time") \
        .order_by(LeaderboardEntry.rank).all()
    scores = [float(e.score) for e in entries]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 100 for s in scores)
    services.stop_tracking(owner, made[0].id)
    queries.rebuild_leaderboard()
    assert made[0].id not in {e.strategy_id for e in _db.session.query(LeaderboardEntry)}
