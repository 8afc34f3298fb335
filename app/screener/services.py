"""Saved screens and their tracked membership: the one API that writes them.

For other domains (alerts, strategies) -- read-only helpers:

* :func:`get_screen(user, id) <get_screen>` -- an owned screen, or a public one with
  ``allow_public=True``; NotFound otherwise;
* :func:`screen_definition(screen) <screen_definition>` -- its :class:`ScreenDefinition`;
* :func:`evaluate_screen(screen) <evaluate_screen>` -- the stock ids it selects *now*;
* :func:`screen_member_ids(screen) <screen_member_ids>` / :func:`screen_members` -- the
  members recorded by the last 10-minute cycle;
* :func:`membership_changes(screen, since) <membership_changes>` -- ``{"entered": [...],
  "left": [...]}`` of :class:`MembershipChange` since a time;
* :func:`update_memberships` -- run by the job the 10-minute and daily hooks enqueue
  (:mod:`app.screener.hooks` -> :func:`app.screener.tasks.record_memberships`); returns the
  changes per screen (alerts read the recorded ScreenMembership rows);
* :func:`readable_by` / :func:`screen_stock_ids` -- what another user may resolve through a
  screen: never the owner's watchlist.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update

from app.billing.plans import enforce_limit, plan_for
from app.database import utcnow
from app.errors import InvalidInput, NotFound, parse_id
from app.extensions import db
from app.models.market import Stock
from app.models.screener import SavedScreen, ScreenMembership
from app.screener.definition import ScreenDefinition

log = logging.getLogger(__name__)
MAX_NAME = 80


# ------------------------------------------------------------------ reads
def list_screens(user) -> list[SavedScreen]:
    return list(db.session.scalars(select(SavedScreen).where(SavedScreen.owner_id == user.id)
                                   .order_by(SavedScreen.name, SavedScreen.id)))


def public_screens(q: str = "", limit: int = 50, offset: int = 0) -> tuple[list[SavedScreen], int]:
    stmt = select(SavedScreen).where(SavedScreen.is_public.is_(True))
    q = (q or "").strip()[:60]
    if q:
        like = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(SavedScreen.name).like(f"%{like}%", escape="\\"))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(db.session.scalars(stmt.order_by(SavedScreen.clones.desc(), SavedScreen.updated_at.desc(),
                                                 SavedScreen.id).limit(limit).offset(offset)))
    return rows, total


def get_screen(user, screen_id, *, allow_public: bool = False) -> SavedScreen:
    """The user's screen (or a public one when ``allow_public``); NotFound otherwise."""
    try:
        screen_id = parse_id(screen_id)
    except ValueError:
        raise NotFound("No such screen.") from None
    cond = SavedScreen.owner_id == user.id
    if allow_public:
        cond = or_(cond, SavedScreen.is_public.is_(True))
    screen = db.session.scalar(select(SavedScreen).where(SavedScreen.id == screen_id, cond))
    if screen is None or not readable_by(user.id, screen):
        raise NotFound("No such screen.")
    return screen


def readable_by(user_id: int, screen: SavedScreen) -> bool:
    """May ``user_id`` resolve what the screen selects? Its owner always; anyone else only
    when it is public AND not scoped to a watchlist: the owner's watchlist is never resolved
    for another user through a public object (a row saved before the rule was enforced
    on every write included)."""
    if screen.owner_id == user_id:
        return True
    return bool(screen.is_public) and screen_definition(screen).watchlist_id is None


def screen_stock_ids(user_id: int, screen: SavedScreen) -> list[int] | None:
    """The stock ids the screen selects, as ``user_id`` may see them: the members recorded
    by the last 10-minute cycle (evaluated now when never recorded); None when the screen is
    not readable by that user (see :func:`readable_by`)."""
    if not readable_by(user_id, screen):
        return None
    if screen.membership_as_of is None:  # never evaluated by the 10-minute cycle yet
        return sorted(evaluate_screen(screen))
    return sorted(screen_member_ids(screen))


def screen_definition(screen: SavedScreen) -> ScreenDefinition:
    return ScreenDefinition.from_dict(screen.definition or {})


# ------------------------------------------------------------------ writes
def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"Give the screen a name of 1 to {MAX_NAME} characters.", field="name")
    return name


def _unique_name(user, name: str, exclude: int | None = None) -> bool:
    q = select(SavedScreen.id).where(SavedScreen.owner_id == user.id, func.lower(SavedScreen.name) == name.lower())
    if exclude:
        q = q.where(SavedScreen.id != exclude)
    return db.session.scalar(q) is None


def _check_limit(user) -> None:
    enforce_limit(user, plan_for(user), "saved_screens", lambda: len(list_screens(user)), noun="saved screens",
                  message="Your {plan} plan allows {limit} saved screen{s}. Upgrade your plan to raise the limit.")


def _validated(user, definition: ScreenDefinition) -> dict:
    if definition.errors:
        first = next(iter(definition.errors.values()))
        raise InvalidInput(f"Fix the screen first: {first}", field="definition")
    if definition.is_empty:
        raise InvalidInput("Add at least one filter or a formula before saving.", field="definition")
    if definition.watchlist_id is not None:
        from app.watchlists.services import get_watchlist

        if get_watchlist(user, definition.watchlist_id) is None:
            raise InvalidInput("Unknown watchlist.", field="definition")
    return definition.to_dict()


def _check_public_scope(definition: dict, is_public: bool) -> None:
    """The rule every write enforces (create, re-define, toggle public): a screen scoped to
    one of the owner's watchlists stays private, or its public page would hand the list out."""
    if is_public and ScreenDefinition.from_dict(definition or {}).watchlist_id is not None:
        raise InvalidInput("A screen limited to your watchlist cannot be public.", field="is_public")


def save_screen(user, name: str, definition: ScreenDefinition, *, is_public: bool = False) -> SavedScreen:
    name = _clean_name(name)
    data = _validated(user, definition)
    _check_limit(user)
    if not _unique_name(user, name):
        raise InvalidInput("You already have a screen with this name.", field="name")
    _check_public_scope(data, bool(is_public))
    screen = SavedScreen(owner_id=user.id, name=name, definition=data, is_public=bool(is_public), clones=0)
    db.session.add(screen)
    db.session.commit()
    return screen


def update_screen(user, screen_id, *, name: str | None = None, definition: ScreenDefinition | None = None,
                  is_public: bool | None = None) -> SavedScreen:
    screen = get_screen(user, screen_id)
    if name is not None:
        name = _clean_name(name)
        if not _unique_name(user, name, exclude=screen.id):
            raise InvalidInput("You already have a screen with this name.", field="name")
    data = _validated(user, definition) if definition is not None else screen.definition
    public = bool(is_public) if is_public is not None else bool(screen.is_public)
    _check_public_scope(data, public)  # on the resulting state, whichever part changes
    if name is not None:
        screen.name = name
    screen.definition, screen.is_public = data, public
    screen.updated_at = utcnow()
    db.session.commit()
    return screen


def delete_screen(user, screen_id) -> None:
    screen = get_screen(user, screen_id)
    db.session.delete(screen)
    db.session.commit()


def clone_screen(user, screen_id) -> SavedScreen:
    """A private copy of a public (or own) screen; the source's clone count goes up by one
    (SQL increment, not for the owner's own screens)."""
    source = get_screen(user, screen_id, allow_public=True)
    _check_limit(user)
    base = source.name if source.owner_id == user.id else source.name
    name = base if _unique_name(user, base) else None
    n = 2
    while name is None:
        candidate = f"{base[:MAX_NAME - 6]} ({n})"
        if _unique_name(user, candidate):
            name = candidate
        n += 1
    copy = SavedScreen(owner_id=user.id, name=name, definition=dict(source.definition), is_public=False,
                       clones=0, cloned_from_id=source.id)
    db.session.add(copy)
    if source.owner_id != user.id:
        db.session.execute(update(SavedScreen).where(SavedScreen.id == source.id)
                           .values(clones=SavedScreen.clones + 1))
    db.session.commit()
    return copy


# ------------------------------------------------------------------ membership
@dataclass(frozen=True)
class MembershipChange:
    stock_id: int
    symbol: str
    at: dt.datetime
    kind: str  # entered | left


def evaluate_screen(screen: SavedScreen) -> list[int]:
    """The stock ids the saved screen selects now (its owner's watchlist scope applies)."""
    from app.screener.queries import matching_ids

    definition = screen_definition(screen)
    return matching_ids(definition, user=screen.owner)


def screen_member_ids(screen: SavedScreen) -> set[int]:
    """The current members as recorded by the last 10-minute cycle."""
    return set(db.session.scalars(select(ScreenMembership.stock_id).where(
        ScreenMembership.screen_id == screen.id, ScreenMembership.left_at.is_(None))))


def screen_members(screen: SavedScreen) -> list[Stock]:
    return list(db.session.scalars(select(Stock).join(ScreenMembership, ScreenMembership.stock_id == Stock.id)
                                   .where(ScreenMembership.screen_id == screen.id,
                                          ScreenMembership.left_at.is_(None)).order_by(Stock.symbol)))


def membership_changes(screen: SavedScreen, since: dt.datetime) -> dict[str, list[MembershipChange]]:
    """Stocks that entered or left the screen at or after ``since`` (newest first)."""
    rows = db.session.execute(
        select(ScreenMembership.stock_id, Stock.symbol, ScreenMembership.entered_at, ScreenMembership.left_at)
        .join(Stock, Stock.id == ScreenMembership.stock_id)
        .where(ScreenMembership.screen_id == screen.id,
               or_(ScreenMembership.entered_at >= since, ScreenMembership.left_at >= since))).all()
    first_run = db.session.scalar(select(func.min(ScreenMembership.entered_at))
                                  .where(ScreenMembership.screen_id == screen.id))
    entered, left = [], []
    for sid, sym, e, lft in rows:
        # the first recording of a screen is its starting point, not an "entry"
        if e >= since and e != first_run:
            entered.append(MembershipChange(sid, sym, e, "entered"))
        if lft is not None and lft >= since:
            left.append(MembershipChange(sid, sym, lft, "left"))
    entered.sort(key=lambda c: (c.at, c.symbol), reverse=True)
    left.sort(key=lambda c: (c.at, c.symbol), reverse=True)
    return {"entered": entered, "left": left}


def record_membership(screen: SavedScreen, ids: set[int] | list[int], now: dt.datetime | None = None) -> dict:
    """Compare ``ids`` with the open stays: close those that left, open those that entered."""
    now = now or utcnow()
    ids = set(int(i) for i in ids)
    current = screen_member_ids(screen)
    gone, new = current - ids, ids - current
    if gone:
        db.session.execute(update(ScreenMembership).where(
            ScreenMembership.screen_id == screen.id, ScreenMembership.left_at.is_(None),
            ScreenMembership.stock_id.in_(gone)).values(left_at=now))
    if new:
        db.session.execute(ScreenMembership.__table__.insert(), [
            {"screen_id": screen.id, "stock_id": sid, "entered_at": now, "left_at": None} for sid in sorted(new)])
    db.session.execute(update(SavedScreen).where(SavedScreen.id == screen.id).values(membership_as_of=now))
    return {"entered": sorted(new), "left": sorted(gone)}


def update_memberships(now: dt.datetime | None = None, screen_ids: list[int] | None = None) -> dict[int, dict]:
    """Evaluate every saved screen (or those given) and record who entered / left.
    One screen's failure (e.g. a formula that no longer evaluates) is logged and skipped."""
    now = now or utcnow()
    q = select(SavedScreen).order_by(SavedScreen.id)
    if screen_ids is not None:
        q = q.where(SavedScreen.id.in_(screen_ids))
    out: dict[int, dict] = {}
    for screen in list(db.session.scalars(q)):
        try:
            ids = evaluate_screen(screen)
            out[screen.id] = record_membership(screen, ids, now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("membership of saved screen %s failed", screen.id)
    return out


def since_yesterday(now: dt.datetime | None = None) -> dt.datetime:
    """Start of the previous calendar day in New York (the "since yesterday" markers)."""
    from app.market import calendar as mcal

    now = now or utcnow()
    et = now.astimezone(mcal.ET)
    start = et.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    return start.astimezone(dt.UTC)
