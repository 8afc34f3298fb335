"""Watchlist and saved-screen scopes, and screen entry/exit alerts, with exact firings."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.alerts import services
from app.alerts.services import RuleInput
from app.database import utcnow
from app.extensions import db
from app.models import AlertEvent, SavedScreen


def fired():
    return [tuple(r) for r in db.session.execute(select(AlertEvent.symbol, AlertEvent.rule_id)
                                                 .order_by(AlertEvent.symbol, AlertEvent.id)).all()]


def screen(user, name="Breakouts") -> SavedScreen:
    s = SavedScreen(owner_id=user.id, name=name, definition={"filters": []})
    db.session.add(s)
    db.session.commit()
    return s


def record(s, symbols, market_stocks, at):
    from app.screener.services import record_membership

    record_membership(s, {market_stocks[x].id for x in symbols}, at)
    db.session.commit()


@pytest.fixture()
def stocks(market):
    return {sym: market.add(sym, price) for sym, price in (("AAA", 120), ("BBB", 130), ("CCC", 90), ("DDD", 150))}


def test_watchlist_scope_fires_for_its_items_only(stocks, pro):
    from app.watchlists import services as wl

    lst = wl.create_watchlist(pro, "Tech")
    wl.add_symbols(pro, lst.id, "AAA CCC")
    r = services.create_rule(pro, RuleInput(scope_kind="watchlist", scope_ref_id=lst.id,
                                            conditions=[{"kind": "price_above", "value": 100}]))
    services.evaluate_cycle()
    assert fired() == [("AAA", r.id)]  # BBB/DDD are above 100 but not in the list; CCC is below
    wl.add_symbols(pro, lst.id, "DDD")
    services.evaluate_cycle()
    assert fired() == [("AAA", r.id), ("DDD", r.id)]


def test_someone_elses_watchlist_is_refused(stocks, pro, factories):
    from app.watchlists import services as wl

    other = factories.user()
    theirs = wl.create_watchlist(other, "Theirs")
    with pytest.raises(services.InvalidInput, match="Choose one of your watchlists"):
        services.create_rule(pro, RuleInput(scope_kind="watchlist", scope_ref_id=theirs.id,
                                            conditions=[{"kind": "price_above", "value": 1}]))


def test_screen_scope_uses_current_members(stocks, pro):
    s = screen(pro)
    record(s, ["AAA", "BBB"], stocks, utcnow() - dt.timedelta(minutes=20))
    record(s, ["BBB", "DDD"], stocks, utcnow() - dt.timedelta(minutes=10))  # AAA left, DDD entered
    r = services.create_rule(pro, RuleInput(scope_kind="screen", scope_ref_id=s.id,
                                            conditions=[{"kind": "price_above", "value": 125}]))
    services.evaluate_cycle()
    assert fired() == [("BBB", r.id), ("DDD", r.id)]


def test_screen_entry_and_exit_fire_once_per_change(stocks, pro):
    s = screen(pro)
    t = utcnow()
    record(s, ["AAA", "BBB"], stocks, t - dt.timedelta(minutes=30))  # the starting point: no "entries"
    enter = services.create_rule(pro, RuleInput(scope_kind="screen", scope_ref_id=s.id,
                                                conditions=[{"kind": "screen_enter"}], cooldown_minutes=1))
    leave = services.create_rule(pro, RuleInput(scope_kind="screen", scope_ref_id=s.id,
                                                conditions=[{"kind": "screen_exit"}], cooldown_minutes=1))
    services.evaluate_cycle(now=t)
    assert fired() == []
    record(s, ["BBB", "CCC"], stocks, t + dt.timedelta(minutes=1))  # AAA left, CCC entered
    services.evaluate_cycle(now=t + dt.timedelta(minutes=2))
    assert fired() == [("AAA", leave.id), ("CCC", enter.id)]
    ev = db.session.scalar(select(AlertEvent).where(AlertEvent.symbol == "CCC"))
    assert ev.description == "CCC entered the screen at 90.00"
    services.evaluate_cycle(now=t + dt.timedelta(minutes=5))  # no new change: nothing more
    assert len(fired()) == 2
    record(s, ["BBB"], stocks, t + dt.timedelta(minutes=6))  # CCC leaves
    record(s, ["BBB", "CCC"], stocks, t + dt.timedelta(minutes=7))  # and comes back: a new stay
    services.evaluate_cycle(now=t + dt.timedelta(minutes=8))
    assert sorted(fired()) == sorted([("AAA", leave.id), ("CCC", enter.id), ("CCC", leave.id), ("CCC", enter.id)])


def test_membership_conditions_need_a_screen_scope(stocks, pro):
    with pytest.raises(services.InvalidInput, match="needs a saved screen"):
        services.create_rule(pro, RuleInput(symbol="AAA", conditions=[{"kind": "screen_enter"}]))
