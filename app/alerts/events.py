"""Triggered alerts as their owner sees them: the bell (a per-user version in Redis that the
navigation's bell fragment uses as its ETag), the history with filters, acknowledging."""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from sqlalchemy import func, select, update

from app.database import utcnow
from app.errors import NotFound
from app.extensions import db
from app.models.alerts import (
    AlertEvent,
)
from app.redis_store import get_redis
from app.web import ET

log = logging.getLogger(__name__)


def bell_key(user_id: int) -> str:
    return f"alerts:bell:{user_id}"


def _version_seed() -> int:
    # A missing counter (new user, or Redis flushed/restarted) starts from the clock, not 0:
    # an ETag a browser still holds from before the reset can then never match new content.
    return time.time_ns() // 1000


def bump_bell(user_id: int, pipe=None) -> None:
    try:
        p = pipe if pipe is not None else get_redis().pipeline()
        p.set(bell_key(user_id), _version_seed(), nx=True)
        p.incr(bell_key(user_id))
        if pipe is None:
            p.execute()
    except Exception:  # Redis down: the bell re-renders (no 304) until it is back
        log.warning("could not bump the alert bell version of user %s", user_id)


def bell_version(user_id: int) -> int | None:
    try:
        r = get_redis()
        v = r.get(bell_key(user_id))
        if v is None:
            r.set(bell_key(user_id), _version_seed(), nx=True)
            v = r.get(bell_key(user_id))
    except Exception:
        return None
    return int(v) if v else None


def unread_count(user) -> int:
    return db.session.scalar(select(func.count()).select_from(AlertEvent).where(
        AlertEvent.owner_id == user.id, AlertEvent.acknowledged_at.is_(None))) or 0


def latest_events(user, limit: int = 8) -> list[AlertEvent]:
    return list(db.session.scalars(select(AlertEvent).where(AlertEvent.owner_id == user.id)
                                   .order_by(AlertEvent.fired_at.desc(), AlertEvent.id.desc()).limit(limit)))


@dataclass
class EventFilter:
    rule_id: int | None = None
    symbol: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    state: str = "all"  # all | unread | acknowledged


def list_events(user, f: EventFilter, page: int = 1, per_page: int = 50) -> tuple[list[AlertEvent], int]:
    q = select(AlertEvent).where(AlertEvent.owner_id == user.id)
    if f.rule_id:
        q = q.where(AlertEvent.rule_id == f.rule_id)
    if f.symbol:
        q = q.where(AlertEvent.symbol == f.symbol.strip().upper()[:10])
    if f.date_from:
        q = q.where(AlertEvent.fired_at >= dt.datetime.combine(f.date_from, dt.time(), tzinfo=ET))
    if f.date_to:
        q = q.where(AlertEvent.fired_at < dt.datetime.combine(f.date_to + dt.timedelta(days=1), dt.time(),
                                                             tzinfo=ET))
    if f.state == "unread":
        q = q.where(AlertEvent.acknowledged_at.is_(None))
    elif f.state == "acknowledged":
        q = q.where(AlertEvent.acknowledged_at.is_not(None))
    total = db.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = db.session.scalars(q.order_by(AlertEvent.fired_at.desc(), AlertEvent.id.desc())
                              .offset((max(page, 1) - 1) * per_page).limit(per_page))
    return list(rows), total


def acknowledge(user, event_id: int) -> AlertEvent:
    ev = db.session.get(AlertEvent, event_id)
    if ev is None or ev.owner_id != user.id:
        raise NotFound("No such triggered alert.")
    if ev.acknowledged_at is None:
        ev.acknowledged_at = utcnow()
        db.session.commit()
        bump_bell(user.id)
    return ev


def acknowledge_all(user) -> int:
    n = db.session.execute(update(AlertEvent).where(AlertEvent.owner_id == user.id,
                                                    AlertEvent.acknowledged_at.is_(None))
                           .values(acknowledged_at=utcnow())).rowcount
    db.session.commit()
    if n:
        bump_bell(user.id)
    return n
