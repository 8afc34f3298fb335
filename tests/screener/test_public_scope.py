"""A screen scoped to the owner's private watchlist is never public, whichever write tries
(create, re-define, toggle), and another user never resolves the watchlist through any
public object: not through a strategy universe, not through an alert scope."""
from __future__ import annotations

import pytest

from app.alerts import services as alerts
from app.alerts.services import SCOPE_SCREEN, SCOPE_WATCHLIST, RuleInput
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import SavedScreen
from app.screener import services
from app.strategies import services as strategies
from app.watchlists import services as watchlists
from tests.factories import on_plan
from tests.screener.test_routes import defn

RULES = dict(category="swing", entry_rule="close > open", exit_rule="close < open", sizing_pct="10",
             visibility="private")


@pytest.fixture()
def secret_list(universe, trader):
    """The trader's private watchlist: CCC and DDD (the trader is on Pro: several screens)."""
    on_plan(trader, "pro")
    wl = watchlists.create_watchlist(trader, "My secret picks")
    watchlists.add_symbols(trader, wl.id, ["CCC", "DDD"])
    return wl


@pytest.fixture()
def other(db, factories):
    return factories.user()


def _scoped(wl) -> object:
    return defn(f"f=price:gt:0&wl={wl.id}")


def test_a_public_screen_cannot_be_re_scoped_to_a_watchlist(universe, trader, secret_list):
    screen = services.save_screen(trader, "All", defn("f=price:gt:0"), is_public=True)
    with pytest.raises(InvalidInput) as exc:
        services.update_screen(trader, screen.id, definition=_scoped(secret_list))
    assert exc.value.field == "is_public" and "cannot be public" in exc.value.message
    db.session.expire_all()
    stored = db.session.get(SavedScreen, screen.id)
    assert stored.is_public is True and "wl" not in (stored.definition or {})
    assert services.screen_definition(stored).watchlist_id is None


def test_every_write_enforces_the_rule(universe, trader, secret_list):
    with pytest.raises(InvalidInput):
        services.save_screen(trader, "Scoped", _scoped(secret_list), is_public=True)
    private = services.save_screen(trader, "Scoped", _scoped(secret_list))
    with pytest.raises(InvalidInput):  # toggling public
        services.update_screen(trader, private.id, is_public=True)
    with pytest.raises(InvalidInput):  # both at once
        services.update_screen(trader, private.id, name="Renamed", definition=_scoped(secret_list), is_public=True)
    db.session.expire_all()
    stored = db.session.get(SavedScreen, private.id)
    assert (stored.name, stored.is_public) == ("Scoped", False)
    # dropping the scope and going public in one write is allowed
    public = services.update_screen(trader, private.id, definition=defn("f=price:gt:0"), is_public=True)
    assert public.is_public is True


def _legacy_public_scoped_screen(trader, wl) -> SavedScreen:
    """A row written before the rule held on every write (or by hand): public AND scoped."""
    screen = services.save_screen(trader, "Legacy", _scoped(wl))
    db.session.execute(db.update(SavedScreen).where(SavedScreen.id == screen.id).values(is_public=True))
    db.session.commit()
    db.session.expire_all()
    return db.session.get(SavedScreen, screen.id)


def test_a_strategy_universe_never_resolves_another_users_watchlist(universe, trader, secret_list, other):
    screen = _legacy_public_scoped_screen(trader, secret_list)
    services.update_memberships(screen_ids=[screen.id])
    assert services.screen_member_ids(screen) == {universe["CCC"].id, universe["DDD"].id}  # the owner's view
    # another user cannot pick it as a universe ...
    with pytest.raises(InvalidInput) as exc:
        strategies.create_strategy(other, name="Peek", universe_kind="screen", screen_id=str(screen.id), **RULES)
    assert exc.value.field == "screen_id"
    with pytest.raises(NotFound):
        services.get_screen(other, screen.id, allow_public=True)
    assert services.screen_stock_ids(other.id, screen) is None
    # ... and a strategy that picked the screen while it was unscoped and public does not
    # see the watchlist once the owner scopes it (private first, then scoped)
    open_screen = services.save_screen(trader, "Open", defn("f=price:gt:0"), is_public=True)
    strategy = strategies.create_strategy(other, name="Follow", universe_kind="screen",
                                          screen_id=str(open_screen.id), **RULES)
    before = strategy.symbols
    services.update_screen(trader, open_screen.id, is_public=False)
    services.update_screen(trader, open_screen.id, definition=_scoped(secret_list))
    services.update_memberships(screen_ids=[open_screen.id])
    db.session.expire_all()
    strategy = db.session.get(type(strategy), strategy.id)
    assert strategies.universe_symbols(strategy) == before  # the list it saw, not CCC/DDD
    assert set(strategies.universe_symbols(strategy)) != {"CCC", "DDD"}
    # the owner's own strategy still reads the scoped screen
    own = strategies.create_strategy(trader, name="Mine", universe_kind="screen", screen_id=str(screen.id), **RULES)
    assert strategies.universe_symbols(own) == ["CCC", "DDD"]


def test_an_alert_scope_never_resolves_another_users_watchlist_or_screen(universe, trader, secret_list, other):
    screen = _legacy_public_scoped_screen(trader, secret_list)
    cond = [{"kind": "price_above", "value": 0.01}]
    with pytest.raises(InvalidInput) as exc:
        alerts.create_rule(other, RuleInput(scope_kind=SCOPE_SCREEN, scope_ref_id=screen.id, conditions=cond))
    assert exc.value.field == "screen_id"
    with pytest.raises(InvalidInput) as exc:
        alerts.create_rule(other, RuleInput(scope_kind=SCOPE_WATCHLIST, scope_ref_id=secret_list.id,
                                            conditions=cond))
    assert exc.value.field == "watchlist_id"
    # a rule row pointing at them anyway (tampered) resolves to nothing at evaluation
    from app.alerts import scopes
    from app.models import AlertRule

    services.update_memberships(screen_ids=[screen.id])
    mine = alerts.create_rule(other, RuleInput(symbol="AAA", conditions=cond))
    for kind, ref in ((SCOPE_SCREEN, screen.id), (SCOPE_WATCHLIST, secret_list.id)):
        db.session.execute(db.update(AlertRule).where(AlertRule.id == mine.id)
                           .values(scope_kind=kind, scope_ref_id=ref, stock_id=None))
        db.session.commit()
        db.session.expire_all()
        rule = db.session.get(AlertRule, mine.id)
        u = alerts.load_universe()
        assert scopes.resolve(u, [rule]).get(rule.id, []) == []
