"""Clone, rate, view, tracking and backtest rules (services)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.errors import InvalidInput, LimitReached, NotFound
from app.extensions import db as _db
from app.models import Backtest, JobRun, Order, PaperAccount, Strategy, StrategyView, Trade
from app.strategies import services, tracking


def test_create_validates_every_field(owner, bars):
    bars.add("AAA")
    good = dict(name="X", category="momentum", universe="AAA", entry_rule="close > open", exit_rule="close < open",
                sizing_pct="10", visibility="private")
    cases = [({"name": ""}, "name"), ({"category": "nope"}, "category"), ({"universe": "ZZZZ"}, "universe"),
             ({"universe": "bad symbol!"}, "universe"), ({"entry_rule": "close >"}, "entry_rule"),
             ({"exit_rule": "sma(close, 5)"}, "exit_rule"), ({"sizing_pct": "0"}, "sizing_pct"),
             ({"sizing_pct": "abc"}, "sizing_pct"), ({"stop_loss_pct": "95"}, "stop_loss_pct"),
             ({"visibility": "everyone"}, "visibility")]
    for change, field in cases:
        with pytest.raises(InvalidInput) as exc:
            services.create_strategy(owner, **{**good, **change})
        assert exc.value.field == field, change
    s = services.create_strategy(owner, **{**good, "universe": "aaa, AAA"})
    assert s.universe == "AAA" and s.status == "draft"


def test_owner_scoping(owner, other, strategy):
    with pytest.raises(NotFound):
        services.get_owned(other, strategy.id)
    strategy.visibility = "private"
    _db.session.commit()
    with pytest.raises(NotFound):
        services.get_visible(other, strategy.id)
    with pytest.raises(NotFound):
        services.clone_strategy(other, strategy.id)
    with pytest.raises(NotFound):
        services.start_backtest(other, strategy.id)
    strategy.visibility = "unlisted"
    _db.session.commit()
    assert services.get_visible(other, strategy.id).id == strategy.id


def test_clone_is_a_private_draft_and_a_second_clone_returns_the_first(owner, other, strategy):
    services.start_tracking(owner, strategy.id)
    copy, created = services.clone_strategy(other, strategy.id)
    assert created and copy.owner_id == other.id and copy.visibility == "private" and copy.status == "draft"
    assert copy.cloned_from_id == strategy.id and copy.paper_account_id is None
    again, created = services.clone_strategy(other, strategy.id)
    assert again.id == copy.id and not created
    _db.session.refresh(strategy)
    assert strategy.clones_count == 1
    with pytest.raises(InvalidInput):
        services.clone_strategy(owner, strategy.id)  # not your own
    assert _db.session.get(Strategy, strategy.id).clones_count == 1


def test_rating_rules(owner, other, factories, strategy):
    with pytest.raises(InvalidInput):
        services.rate_strategy(owner, strategy.id, 5)
    for bad in ("0", "6", "x", None):
        with pytest.raises(InvalidInput):
            services.rate_strategy(other, strategy.id, bad)
    services.rate_strategy(other, strategy.id, 4, "solid")
    services.rate_strategy(other, strategy.id, 2, "changed my mind")  # one per user, editable
    third = factories.user()
    services.rate_strategy(third, strategy.id, 5)
    s = _db.session.get(Strategy, strategy.id)
    _db.session.refresh(s)
    assert s.ratings_count == 2 and s.average_rating == pytest.approx(3.5)
    assert [r.review for r in services.ratings(s)][-1] == "changed my mind"


def test_views_count_each_viewer_once_never_the_owner(owner, other, factories, strategy):
    """Unique viewers are users, not viewer-days: coming back the next day counts nothing."""
    day = dt.date(2026, 3, 2)
    assert services.record_view(other, strategy, day) is True
    assert services.record_view(other, strategy, day) is False
    assert services.record_view(owner, strategy, day) is False
    assert services.record_view(factories.user(), strategy, day) is True
    assert services.record_view(other, strategy, day + dt.timedelta(days=1)) is False
    assert services.record_view(other, strategy, day + dt.timedelta(days=40)) is False
    _db.session.refresh(strategy)
    assert strategy.viewers_count == 2
    assert _db.session.scalar(select(func.count()).select_from(StrategyView)) == 2


def test_views_count_each_viewer_once_without_redis(owner, other, strategy, monkeypatch):
    """The database alone (Redis down, or its key expired) still counts a returning viewer once."""
    import app.redis_store as store

    def down():
        raise ConnectionError("redis down")

    monkeypatch.setattr(store, "get_redis", down)
    assert services.record_view(other, strategy, dt.date(2026, 3, 2)) is True
    assert services.record_view(other, strategy, dt.date(2026, 3, 3)) is False
    _db.session.refresh(strategy)
    assert strategy.viewers_count == 1


def test_backtest_job_stores_results_and_counts_against_the_plan(owner, strategy):
    bt = services.start_backtest(owner, strategy.id, capital="50000")
    bt = _db.session.get(Backtest, bt.id)
    run = _db.session.get(JobRun, bt.job_run_id)
    assert bt.status == "succeeded" and run.status == "succeeded" and run.progress == 100
    assert bt.metrics["trades"] == len(bt.trades) and bt.metrics["symbols"] == 2
    assert bt.equity[0][1] == pytest.approx(50000, rel=0.02)
    assert _db.session.get(Strategy, strategy.id).status == "backtested"
    # the free plan has 2 backtests a month
    services.start_backtest(owner, strategy.id)
    with pytest.raises(LimitReached):
        services.start_backtest(owner, strategy.id)
    assert services.backtests_this_month(owner) == 2


def test_backtest_input_checks(owner, strategy):
    for kw, field in (({"start": "2026-13-01"}, "start"), ({"start": "2026-02-01", "end": "2026-01-01"}, "start"),
                      ({"capital": "12"}, "capital"), ({"capital": "abc"}, "capital"),
                      ({"slippage_bps": "900"}, "slippage_bps")):
        with pytest.raises(InvalidInput) as exc:
            services.start_backtest(owner, strategy.id, **kw)
        assert exc.value.field == field
    assert services.backtests_this_month(owner) == 0


def test_failed_backtest_is_recorded_on_the_job_run(owner, strategy):
    bt = services.start_backtest(owner, strategy.id, start="2000-01-01", end="2000-06-01")
    bt = _db.session.get(Backtest, bt.id)
    assert bt.status == "failed" and "no daily bars" in bt.error
    assert _db.session.get(JobRun, bt.job_run_id).status == "failed"


def test_forward_tracking_trades_through_the_ledger(owner, bars):
    import numpy as np

    # the entry rule holds on the last bar of UP only
    bars.add("UP", closes=np.r_[np.full(40, 100.0), 110.0])
    bars.add("FLAT", closes=np.full(41, 50.0))
    s = services.create_strategy(owner, name="Jump", category="momentum", universe="UP, FLAT",
                                 entry_rule="change_pct > 5", exit_rule="change_pct < -5", sizing_pct="20",
                                 stop_loss_pct="5", take_profit_pct="10", visibility="public")
    s = services.start_tracking(owner, s.id)
    account = _db.session.get(PaperAccount, s.paper_account_id)
    assert account.managed and account.owner_id == owner.id
    from app.paper import services as ledger

    assert ledger.list_accounts(owner) == []  # not listed on /paper, not in the plan's count
    with pytest.raises(NotFound):
        ledger.get_account(owner, account.id)  # never traded by hand
    stats = tracking.track_all()
    assert stats["entries"] == 1
    orders = _db.session.scalars(select(Order).where(Order.account_id == account.id).order_by(Order.id)).all()
    entry = orders[0]
    assert entry.side == "buy" and entry.source == "strategy" and entry.stock.symbol == "UP"
    # 20 % of 100,000 at 110 x 1.0005 -> 181 shares; bracket from the close
    assert entry.qty == 181
    assert {o.role: float(o.stop_price or o.limit_price) for o in orders[1:]} == {"stop_loss": 104.5,
                                                                                  "take_profit": 121.0}
    # idempotent for the session
    assert tracking.track_all()["entries"] == 0


def test_forward_exit_closes_through_the_ledger(owner, bars):
    import numpy as np

    stock = bars.add("DROP", closes=np.r_[np.full(40, 100.0), 90.0])
    s = services.create_strategy(owner, name="Exit", category="swing", universe="DROP",
                                 entry_rule="change_pct > 5", exit_rule="change_pct < -5", sizing_pct="20",
                                 visibility="public")
    s = services.start_tracking(owner, s.id)
    from app.paper import services as ledger

    account = _db.session.get(PaperAccount, s.paper_account_id)
    ledger.place_system_order(account, symbol="DROP", side="buy", qty=10)  # always-open test clock
    assert tracking.track_all()["exits"] == 1
    trade = _db.session.scalar(select(Trade).where(Trade.account_id == account.id))
    assert trade is not None and trade.qty == 10 and trade.stock_id == stock.id


def test_editing_rules_while_tracking_is_refused(owner, strategy):
    services.start_tracking(owner, strategy.id)
    fields = dict(name="x", category="momentum", universe="AAA", entry_rule="close > 1", exit_rule="close < 1",
                  sizing_pct="20", visibility="public")
    with pytest.raises(InvalidInput):
        services.update_strategy(owner, strategy.id, **fields)
    services.stop_tracking(owner, strategy.id)
    assert services.update_strategy(owner, strategy.id, **fields).entry_rule == "close > 1"


def _fields(**kw):
    d = dict(name="W", category="swing", entry_rule="close > open", exit_rule="close < open", sizing_pct="10",
             visibility="public")
    d.update(kw)
    return d


def test_universe_from_a_watchlist_and_a_saved_screen(owner, other, bars):
    from app.database import utcnow
    from app.models import SavedScreen, ScreenMembership
    from app.watchlists import services as watchlists

    a, b, c = bars.add("WA"), bars.add("WB"), bars.add("WC")
    wl = watchlists.create_watchlist(owner, "Tech")
    watchlists.add_symbols(owner, wl.id, ["WA", "WB"])
    s = services.create_strategy(owner, **_fields(universe_kind="watchlist", watchlist_id=str(wl.id)))
    assert s.universe_kind == "watchlist" and services.universe_symbols(s) == ["WA", "WB"]
    watchlists.add_symbols(owner, wl.id, ["WC"])
    assert services.universe_symbols(s) == ["WA", "WB", "WC"]  # read live
    bt = _db.session.get(Backtest, services.start_backtest(owner, s.id).id)
    assert bt.params["symbols"] == ["WA", "WB", "WC"] and bt.status == "succeeded"
    # someone else's watchlist is not a universe
    with pytest.raises(InvalidInput) as exc:
        services.create_strategy(other, **_fields(universe_kind="watchlist", watchlist_id=str(wl.id)))
    assert exc.value.field == "watchlist_id"
    # a clone gets today's symbols (the cloner cannot see the watchlist)
    copy, _ = services.clone_strategy(other, s.id)
    assert copy.universe_kind == "symbols" and copy.symbols == ["WA", "WB", "WC"] and copy.watchlist_id is None
    # a saved screen: its current members
    screen = SavedScreen(owner_id=owner.id, name="Movers", definition={}, membership_as_of=utcnow())
    _db.session.add(screen)
    _db.session.flush()
    _db.session.add_all([ScreenMembership(screen_id=screen.id, stock_id=c.id),
                         ScreenMembership(screen_id=screen.id, stock_id=a.id, left_at=utcnow())])
    _db.session.commit()
    s2 = services.create_strategy(owner, **_fields(universe_kind="screen", screen_id=str(screen.id)))
    assert services.universe_symbols(s2) == ["WC"]
    with pytest.raises(InvalidInput) as exc:
        services.create_strategy(other, **_fields(universe_kind="screen", screen_id=str(screen.id)))
    assert exc.value.field == "screen_id"
    with pytest.raises(InvalidInput):
        services.create_strategy(owner, **_fields(universe_kind="everything"))
    assert b.symbol == "WB"
