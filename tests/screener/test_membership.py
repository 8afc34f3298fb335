"""Saved-screen membership: recorded by the 10-minute hook, entered/left since a time,
markers on the screener page, and the job the hooks enqueue."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.market import hooks as market_hooks
from app.models import ScreenMembership, Snapshot
from app.screener import services
from app.screener.tasks import record_memberships
from tests.screener.test_routes import defn

T0 = dt.datetime(2026, 11, 26, 15, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)


def test_membership_is_tracked_by_the_10_minute_hook(universe, trader):
    screen = services.save_screen(trader, "Gainers", defn("f=change_pct:gt:0"))
    errors = market_hooks.emit(market_hooks.after_intraday_cycle, "10m", run_id=1, version=1, as_of=T0)
    assert errors == []
    assert {s.symbol for s in services.screen_members(screen)} == {"AAA", "EEE"}
    # BBB turns positive, EEE negative
    db.session.get(Snapshot, universe["BBB"].id).change_pct = 1.0
    db.session.get(Snapshot, universe["EEE"].id).change_pct = -1.0
    db.session.commit()
    # the job the hook enqueues returns the screens that changed
    changed = record_memberships(T1.isoformat())
    assert changed == {screen.id: {"entered": [universe["BBB"].id], "left": [universe["EEE"].id]}}
    assert services.screen_member_ids(screen) == {universe["AAA"].id, universe["BBB"].id}
    changes = services.membership_changes(screen, T1 - dt.timedelta(hours=1))
    assert [c.symbol for c in changes["entered"]] == ["BBB"]
    assert [c.symbol for c in changes["left"]] == ["EEE"]
    # since before the first recording: the first members are the starting point, not entries
    assert [c.symbol for c in services.membership_changes(screen, T0 - dt.timedelta(days=1))["entered"]] == ["BBB"]
    stays = db.session.scalars(select(ScreenMembership).where(ScreenMembership.stock_id == universe["EEE"].id)).all()
    assert [(s.entered_at, s.left_at) for s in stays] == [(T0, T1)]
    db.session.refresh(screen)
    assert screen.membership_as_of == T1


def test_re_entry_opens_a_new_stay(universe, trader):
    services.save_screen(trader, "Tech", defn("f=price:gt:20"))
    services.update_memberships(now=T0)
    snap = db.session.get(Snapshot, universe["BBB"].id)
    snap.price = 5.0
    db.session.commit()
    services.update_memberships(now=T1)
    snap.price = 50.0
    db.session.commit()
    later = T1 + dt.timedelta(minutes=10)
    services.update_memberships(now=later)
    stays = db.session.scalars(select(ScreenMembership).where(ScreenMembership.stock_id == universe["BBB"].id)
                               .order_by(ScreenMembership.id)).all()
    assert [(s.entered_at, s.left_at) for s in stays] == [(T0, T1), (later, None)]


def test_a_broken_screen_does_not_stop_the_others(universe, trader, factories):
    good = services.save_screen(trader, "Good", defn("f=rsi:lt:30"))
    other = factories.user()
    bad = services.save_screen(other, "Bad", defn("f=rsi:lt:30"))
    bad.definition = {"filters": [], "formula": "close > sma(close, 20)", "watchlist_id": 999}
    db.session.commit()
    out = services.update_memberships(now=T0)
    assert good.id in out and bad.id not in out
    assert services.screen_member_ids(good) == {universe["CCC"].id, universe["DDD"].id}


def test_screener_page_shows_since_yesterday_markers(client, login, universe, trader, monkeypatch):
    screen = services.save_screen(trader, "Gainers", defn("f=change_pct:gt:0"))
    services.update_memberships(now=T0)
    db.session.get(Snapshot, universe["BBB"].id).change_pct = 1.0
    db.session.commit()
    services.update_memberships(now=T1)
    monkeypatch.setattr(services, "since_yesterday", lambda now=None: T1 - dt.timedelta(hours=2))
    login(trader)
    page = client.get(f"/screener/screens/{screen.id}", follow_redirects=True).get_data(as_text=True)
    assert "Since yesterday" in page
    entered = page[page.index("▲ entered"):page.index("▼ left")]
    assert ">BBB</a>" in entered and ">AAA</a>" not in entered
    assert 'title="Entered the screen since yesterday">new</span>' in page
