"""Watchlist and saved-screen scopes of alert rules (the screener domain owns those models).

For one evaluation cycle, :func:`resolve` reads what every list-scoped rule needs in one
query per kind (never one per rule):

* ``{rule_id: positions}`` -- the universe positions of a watchlist's items, or of a saved
  screen's current members (as tracked by the 10-minute cycle);
* ``{(rule_id, "screen_enter" | "screen_exit"): [(position, event time), ...]}`` -- stocks that
  entered / left a screen since the rule was created (at most a day back). The first
  recording of a screen is its starting point, not an entry (as in the screener's own view).

Lists are only used when the rule's owner still owns them.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, or_, select

from app.database import utcnow
from app.extensions import db
from app.models.alerts import SCOPE_SCREEN, SCOPE_WATCHLIST, SCREEN_ENTER, SCREEN_EXIT


def _models():
    try:
        from app.models import screener
    except ImportError:  # the screener domain is not installed
        return None
    return screener


def available(kind: str) -> bool:
    return _models() is not None and kind in (SCOPE_WATCHLIST, SCOPE_SCREEN)


def _model(kind: str):
    m = _models()
    return m.Watchlist if kind == SCOPE_WATCHLIST else m.SavedScreen


def owns(user, kind: str, ref_id: int) -> bool:
    if not available(kind):
        return False
    model = _model(kind)
    return db.session.scalar(select(model.id).where(model.id == ref_id, model.owner_id == user.id)) is not None


def choices(user, kind: str) -> list[tuple[int, str]]:
    if not available(kind):
        return []
    model = _model(kind)
    return [(i, n) for i, n in db.session.execute(
        select(model.id, model.name).where(model.owner_id == user.id).order_by(model.name)).all()]


def names(ids_by_kind: dict[str, set[int]]) -> dict[tuple[str, int], str]:
    out = {}
    for kind, ids in ids_by_kind.items():
        if ids and available(kind):
            model = _model(kind)
            for i, n in db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all():
                out[(kind, i)] = n
    return out


def resolve(universe, rules, now: dt.datetime | None = None) -> dict:
    """Universe positions per rule scope (see the module docstring). A watchlist or screen
    resolves only for its owner: a rule pointing at another user's list or screen gets none."""
    m = _models()
    if m is None:
        return {}
    now = now or utcnow()
    out: dict = {}
    pos = universe.position
    wl_rules = [r for r in rules if r.scope_kind == SCOPE_WATCHLIST and r.scope_ref_id]
    if wl_rules:
        out.update(_watchlist_members(m, pos, wl_rules))
    sc_rules = [r for r in rules if r.scope_kind == SCOPE_SCREEN and r.scope_ref_id]
    if sc_rules:
        owners = dict(db.session.execute(select(m.SavedScreen.id, m.SavedScreen.owner_id).where(
            m.SavedScreen.id.in_({r.scope_ref_id for r in sc_rules}))).all())
        sc_rules = [r for r in sc_rules if owners.get(r.scope_ref_id) == r.owner_id]
        plain = [r for r in sc_rules if not _membership_kind(r)]
        changes = [r for r in sc_rules if _membership_kind(r)]
        if plain:
            out.update(_screen_members(m, pos, plain))
        if changes:
            out.update(_screen_changes(m, pos, changes, now))
    return out


def _watchlist_members(m, pos: dict, wl_rules: list) -> dict:
    wanted = {(r.scope_ref_id, r.owner_id) for r in wl_rules}
    rows = db.session.execute(
        select(m.WatchlistItem.watchlist_id, m.Watchlist.owner_id, m.WatchlistItem.stock_id)
        .join(m.Watchlist, m.Watchlist.id == m.WatchlistItem.watchlist_id)
        .where(m.WatchlistItem.watchlist_id.in_({w for w, _ in wanted}))).all()
    members: dict[tuple[int, int], list[int]] = defaultdict(list)
    for wid, owner, sid in rows:
        p = pos.get(sid)
        if p is not None:
            members[(wid, owner)].append(p)
    return {r.id: sorted(members.get((r.scope_ref_id, r.owner_id), ())) for r in wl_rules}


def _screen_members(m, pos: dict, plain: list) -> dict:
    current: dict[int, list[int]] = defaultdict(list)
    for screen_id, sid in db.session.execute(
            select(m.ScreenMembership.screen_id, m.ScreenMembership.stock_id).where(
                m.ScreenMembership.screen_id.in_({r.scope_ref_id for r in plain}),
                m.ScreenMembership.left_at.is_(None))).all():
        p = pos.get(sid)
        if p is not None:
            current[screen_id].append(p)
    return {r.id: sorted(current.get(r.scope_ref_id, ())) for r in plain}


def _screen_changes(m, pos: dict, changes: list, now: dt.datetime) -> dict:
    screen_ids = {r.scope_ref_id for r in changes}
    since = max(min(r.created_at for r in changes), now - dt.timedelta(days=1))
    first = dict(db.session.execute(
        select(m.ScreenMembership.screen_id, func.min(m.ScreenMembership.entered_at))
        .where(m.ScreenMembership.screen_id.in_(screen_ids))
        .group_by(m.ScreenMembership.screen_id)).all())
    rows = db.session.execute(
        select(m.ScreenMembership.screen_id, m.ScreenMembership.stock_id, m.ScreenMembership.entered_at,
               m.ScreenMembership.left_at)
        .where(m.ScreenMembership.screen_id.in_(screen_ids),
               or_(m.ScreenMembership.entered_at >= since, m.ScreenMembership.left_at >= since))).all()
    by_screen: dict[int, list] = defaultdict(list)
    for row in rows:
        by_screen[row[0]].append(row)
    out = {}
    for r in changes:
        kind = _membership_kind(r)
        start = max(r.created_at, now - dt.timedelta(days=1))
        hits = []
        for screen_id, sid, entered, left in by_screen.get(r.scope_ref_id, ()):
            p = pos.get(sid)
            if p is None:
                continue
            if kind == SCREEN_ENTER and entered >= start and entered != first.get(screen_id):
                hits.append((p, entered))
            elif kind == SCREEN_EXIT and left is not None and left >= start:
                hits.append((p, left))
        out[(r.id, kind)] = hits
    return out


def _membership_kind(rule) -> str | None:
    conds = rule.conditions or []
    if conds and conds[0].get("kind") in (SCREEN_ENTER, SCREEN_EXIT):
        return conds[0]["kind"]
    return None
