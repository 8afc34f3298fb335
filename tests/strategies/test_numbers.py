"""Issue 11, A12: the backtest range on 29 February, unique viewers, the throttled
per-strategy recalculation and the forward chart's benchmark."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from app.errors import InvalidInput, Throttled
from app.extensions import db as _db
from app.models import Backtest, LeaderboardEntry, Trade
from app.paper import metrics as m
from app.strategies import data as sdata
from app.strategies import queries, services
from tests.strategies.test_leaderboard import AXIS, history, tracked


# ------------------------------------------------------------------ 29 February
def _frozen(monkeypatch, when: dt.datetime) -> None:
    monkeypatch.setattr(services, "utcnow", lambda: when)


def test_start_backtest_on_29_february_checks_the_range_without_crashing(monkeypatch, owner, strategy):
    _frozen(monkeypatch, dt.datetime(2024, 2, 29, 15, 0, tzinfo=dt.UTC))
    # 30 years before 29 Feb 2024 is 28 Feb 1994
    assert services._years_before(dt.date(2024, 2, 29), 30) == dt.date(1994, 2, 28)
    with pytest.raises(InvalidInput, match="at most 30 years"):
        services.start_backtest(owner, strategy.id, start="1994-02-27", end="2024-01-31")
    bt = services.start_backtest(owner, strategy.id, start="1994-02-28", end="2024-01-31")
    assert _db.session.get(Backtest, bt.id).start_date == dt.date(1994, 2, 28)


def test_backtest_form_on_29_february_is_not_a_500(monkeypatch, client, login, csrf, owner, strategy):
    _frozen(monkeypatch, dt.datetime(2028, 2, 29, 15, 0, tzinfo=dt.UTC))
    login(owner)
    tok = csrf(client, f"/strategies/{strategy.id}")
    r = client.post(f"/strategies/{strategy.id}/backtests",
                    data={"csrf_token": tok, "capital": "100000", "start": "1990-01-02", "end": "2020-01-02"})
    assert r.status_code == 422
    assert b"at most 30 years" in r.data


# ------------------------------------------------------------------ recalculation
@pytest.fixture()
def board(owner, bars):
    stock = bars.add("WIN", n=30)
    eq = list(np.linspace(100000, 110000, 40))
    days = [AXIS[-1 - (i % 30)] for i in range(30)]
    made = []
    for i in range(3):
        s = tracked(owner, stock, f"Strategy {i}")
        history(s, stock, [e * (1 + i / 100) for e in eq], days, pnl=10 + i)
        made.append(s)
    queries.rebuild_leaderboard()
    return stock, made


def _rows(strategy_id=None):
    q = _db.session.query(LeaderboardEntry)
    if strategy_id is not None:
        q = q.filter_by(strategy_id=strategy_id)
    return {(e.category, e.timeframe, e.strategy_id): (e.rank, float(e.score)) for e in q}


def test_recalculate_recomputes_only_that_strategys_rows_and_reranks(owner, board):
    stock, (a, b, c) = board
    before = _rows()
    # every trade of a and of b turns into a loss; only a is recalculated
    for s in (a, b):
        _db.session.query(Trade).filter_by(account_id=s.paper_account_id).update(
            {"pnl": Decimal("-500"), "pnl_pct": Decimal("-5")})
    _db.session.commit()
    services.recalculate(owner, a.id)  # jobs run inline in tests
    after = _rows()
    assert {k: v[1] for k, v in after.items() if k[2] == b.id} == {k: v[1] for k, v in before.items() if k[2] == b.id}
    assert {k: v[1] for k, v in after.items() if k[2] == c.id} == {k: v[1] for k, v in before.items() if k[2] == c.id}
    assert all(after[k][1] <= before[k][1] for k in after if k[2] == a.id)
    assert after[("overall", "all_time", a.id)][1] < before[("overall", "all_time", a.id)][1]
    # a's new scores are exactly what a full rebuild gives it
    mine = {k: v[1] for k, v in after.items() if k[2] == a.id}
    queries.rebuild_leaderboard()
    assert mine == {k: v[1] for k, v in _rows(a.id).items()}
    # every board it is in is ranked 1..n by score
    for cat, tf in {(k[0], k[1]) for k in after}:
        board_rows = sorted((v[0], -v[1], k[2]) for k, v in after.items() if k[:2] == (cat, tf))
        assert [r[0] for r in board_rows] == list(range(1, len(board_rows) + 1))
        assert [r[1] for r in board_rows] == sorted(r[1] for r in board_rows)
    assert after[("overall", "all_time", a.id)][0] == 3  # from first to last


def test_recalculate_drops_a_strategy_no_longer_ranked(owner, board):
    _, (a, b, c) = board
    services.stop_tracking(owner, a.id)
    stats = queries.rebuild_strategy(a.id)
    assert stats["ranked"] is False and not _rows(a.id)
    ranks = sorted(v[0] for k, v in _rows().items() if k[:2] == ("overall", "daily"))
    assert ranks == [1, 2]


def test_recalculate_at_most_once_a_minute_per_strategy(owner, board, monkeypatch):
    _, (a, b, _) = board
    calls = []
    monkeypatch.setattr(queries, "rebuild_strategy", lambda sid: calls.append(sid) or {"rows": 0})
    monkeypatch.setattr(queries, "rebuild_leaderboard", lambda: pytest.fail("the whole board was rebuilt"))
    services.recalculate(owner, a.id)
    with pytest.raises(Throttled, match="less than a minute") as exc:
        services.recalculate(owner, a.id)
    assert 1 <= exc.value.retry_after <= 60
    services.recalculate(owner, b.id)  # another strategy is not throttled
    assert calls == [a.id, b.id]


def test_recalculate_throttle_without_redis_uses_the_job_table(owner, board, monkeypatch):
    import app.redis_store as store

    _, (a, _, _) = board

    def down():
        raise ConnectionError("redis down")

    monkeypatch.setattr(store, "get_redis", down)
    monkeypatch.setattr(queries, "rebuild_strategy", lambda sid: {"rows": 0})
    services.recalculate(owner, a.id)
    with pytest.raises(Throttled):
        services.recalculate(owner, a.id)


def test_recalculate_button_says_when_it_is_throttled(client, login, csrf, owner, board, monkeypatch):
    _, (a, _, _) = board
    monkeypatch.setattr(queries, "rebuild_strategy", lambda sid: {"rows": 0})
    login(owner)
    tok = csrf(client, f"/strategies/{a.id}")
    r = client.post(f"/strategies/{a.id}/recalculate", data={"csrf_token": tok})
    assert r.status_code in (302, 303)
    r = client.post(f"/strategies/{a.id}/recalculate", data={"csrf_token": tok}, follow_redirects=True)
    assert r.status_code == 200
    assert b"recalculated less than a minute ago" in r.data


# ------------------------------------------------------------------ forward benchmark
def test_forward_chart_has_the_backtests_benchmark(client, login, owner, board, bars):
    stock, (a, _, _) = board
    login(owner)
    data = client.get(f"/strategies/{a.id}/forward.json").get_json()
    days = [dt.date.fromisoformat(p["time"]) for p in data["equity"]]
    levels, label = sdata.benchmark(days, [stock.symbol])  # SPY has no bars here: the universe's index
    assert label == "equal-weight index of the universe (SPY has no bars here)" == data["benchmark_label"]
    want = sdata.scaled(levels, data["equity"][0]["value"])
    assert len(data["benchmark"]) == len(data["equity"]) == 40
    np.testing.assert_allclose([p["value"] for p in data["benchmark"]], np.round(want, 2))
    assert data["benchmark"][0]["value"] == pytest.approx(data["equity"][0]["value"], abs=0.01)
    # the drawdown curve is the metrics module's
    np.testing.assert_allclose([p["value"] for p in data["drawdown"]],
                               np.round(m.drawdown_series([p["value"] for p in data["equity"]]), 3))


def test_forward_benchmark_is_spy_when_spy_has_bars(client, login, owner, board, bars):
    _, (a, _, _) = board
    bars.add("SPY", closes=np.linspace(400, 440, 60))
    login(owner)
    data = client.get(f"/strategies/{a.id}/forward.json").get_json()
    assert data["benchmark_label"] == "SPY buy-and-hold"
    days = [dt.date.fromisoformat(p["time"]) for p in data["equity"]]
    spy = sdata.benchmark_closes(days)
    np.testing.assert_allclose([p["value"] for p in data["benchmark"]],
                               np.round(spy / spy[0] * data["equity"][0]["value"], 2))
    assert data["benchmark"][-1]["value"] > data["benchmark"][0]["value"]


def test_migration_recounts_viewer_days_as_viewers(owner, other, factories, strategy, monkeypatch):
    """d2_numbers: existing viewer-day rows collapse to each user's first view, and the count
    becomes the number of distinct viewers."""
    import importlib.util
    import pathlib

    from sqlalchemy import select, text

    from app.models import Strategy, StrategyView

    third = factories.user()
    for user, days in ((other, (1, 2, 5)), (third, (3,))):
        for d in days:
            _db.session.add(StrategyView(strategy_id=strategy.id, user_id=user.id, day=dt.date(2026, 3, d)))
    _db.session.get(Strategy, strategy.id).viewers_count = 4
    _db.session.commit()
    path = pathlib.Path(__file__).resolve().parents[2] / "migrations/versions/d2_numbers_unique_viewers.py"
    spec = importlib.util.spec_from_file_location("d2_numbers", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod.op, "execute", lambda sql: _db.session.execute(text(sql)), raising=False)
    mod.upgrade()
    _db.session.commit()
    _db.session.expire_all()
    assert _db.session.get(Strategy, strategy.id).viewers_count == 2
    rows = _db.session.execute(select(StrategyView.user_id, StrategyView.day).order_by(StrategyView.user_id)).all()
    assert rows == [(other.id, dt.date(2026, 3, 1)), (third.id, dt.date(2026, 3, 3))]
    assert services.record_view(other, strategy, dt.date(2026, 3, 9)) is False
