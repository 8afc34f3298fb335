"""Firing: the atomic claims of one cycle's candidate firings, then the event rows, the rule
counters and the per-channel delivery rows -- all in the evaluating job's transaction -- and,
after its commit, what makes them visible (in-app delivered time, bells) and sends them."""
from __future__ import annotations

import datetime as dt
import logging
import math
from collections import defaultdict

from sqlalchemy import bindparam, insert, or_, select, tuple_, update

from app.alerts.delivery import enqueue_deliveries_jobs
from app.alerts.events import bump_bell
from app.alerts.settings import in_quiet_hours
from app.alerts.words import _fired_words, render_message, rule_words
from app.billing.plans import plan_for
from app.database import utcnow
from app.extensions import db
from app.models import User
from app.models.alerts import (
    ACTIVE,
    D_QUEUED,
    D_SKIPPED,
    DEFAULT_MESSAGE,
    DONE,
    EMAIL,
    ONCE,
    SCOPE_SYMBOL,
    SMS,
    WEBHOOK,
    AlertDelivery,
    AlertEvent,
    AlertRule,
    AlertRuleState,
    NotificationSettings,
)
from app.redis_store import get_redis

log = logging.getLogger(__name__)

FOREVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def _insert_states(pairs: list[tuple[int, int]]) -> None:
    if not pairs:
        return
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dinsert
    else:
        from sqlalchemy.dialects.sqlite import insert as dinsert
    stmt = dinsert(AlertRuleState.__table__).on_conflict_do_nothing(index_elements=["rule_id", "stock_id"])
    db.session.execute(stmt, [{"rule_id": r, "stock_id": s} for r, s in pairs])


def claim(candidates: list[tuple[int, int, int | None]], now: dt.datetime) -> set[tuple[int, int]]:
    """Atomically claim firings: (rule_id, stock_id, cooldown minutes or None for once).

    Returns the pairs this caller won. Runs inside the caller's transaction: commit after
    writing the events (a second worker's UPDATE waits for that commit, then finds the row
    no longer due)."""
    if not candidates:
        return set()
    _insert_states([(r, s) for r, s, _ in candidates])
    by_cooldown: dict[int | None, list[tuple[int, int]]] = defaultdict(list)
    for r, s, cd in candidates:
        by_cooldown[cd].append((r, s))
    won: set[tuple[int, int]] = set()
    t = AlertRuleState.__table__
    for cd, pairs in by_cooldown.items():
        until = FOREVER if cd is None else now + dt.timedelta(minutes=cd)
        for i in range(0, len(pairs), 400):
            chunk = pairs[i:i + 400]
            stmt = (update(t).where(tuple_(t.c.rule_id, t.c.stock_id).in_(chunk),
                                    or_(t.c.next_allowed_at.is_(None), t.c.next_allowed_at <= now))
                    .values(next_allowed_at=until, last_fired_at=now)
                    .returning(t.c.rule_id, t.c.stock_id))
            won.update((int(a), int(b)) for a, b in db.session.execute(stmt).all())
    return won


def claim_changes(candidates: list[tuple[int, int, int | None, dt.datetime]], now: dt.datetime) -> set[tuple[int, int]]:
    """Claim screen entry/exit firings: each change (a stay's entry or exit time) fires once,
    and not again for that symbol within the cooldown. Few rows per cycle: one conditional
    UPDATE each, in the caller's transaction (atomic like :func:`claim`)."""
    if not candidates:
        return set()
    _insert_states([(r, s) for r, s, _, _ in candidates])
    t = AlertRuleState.__table__
    won: set[tuple[int, int]] = set()
    for rule_id, stock_id, cd, event_at in candidates:
        until = FOREVER if cd is None else now + dt.timedelta(minutes=cd)
        stmt = (update(t).where(t.c.rule_id == rule_id, t.c.stock_id == stock_id,
                                or_(t.c.last_fired_at.is_(None), t.c.last_fired_at < event_at),
                                or_(t.c.next_allowed_at.is_(None), t.c.next_allowed_at <= now))
                .values(next_allowed_at=until, last_fired_at=now).returning(t.c.rule_id))
        if db.session.execute(stmt).first() is not None:
            won.add((rule_id, stock_id))
    return won


def _delivery_plan(rules_by_id: dict[int, AlertRule], owners: set[int], now: dt.datetime) -> dict:
    """Per owner: which external channels are possible right now, and why not."""
    if not owners:
        return {}
    settings = {s.user_id: s for s in db.session.scalars(
        select(NotificationSettings).where(NotificationSettings.user_id.in_(owners)))}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(owners)))}
    out = {}
    for uid in owners:
        s = settings.get(uid)
        u = users.get(uid)
        plan = plan_for(u) if u is not None else None
        quiet = bool(s and in_quiet_hours(s, now))
        out[uid] = {
            EMAIL: None if (s is None or s.email_on) else "email notifications are switched off",
            SMS: ("SMS notifications are switched off" if s and not s.sms_on else
                  "no verified phone number" if not (s and s.phone_verified) else
                  "SMS is not included in the plan" if not (plan and plan.sms_per_month) else None),
            WEBHOOK: ("webhook notifications are switched off" if s and not s.webhook_on else
                      "no webhook URL set" if not (s and s.webhook_url) else
                      "webhooks are not included in the plan" if not (plan and plan.alert_webhooks) else None),
            "quiet": quiet,
        }
    return out


def _f(v) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


def _event_row(u, rule: AlertRule, sid: int, p: int, version: int | None, fired_at: dt.datetime) -> dict:
    sym = u.symbols[p]
    price, prev, chg, rv = (_f(u.price[p]), _f(u.prev_price[p]), _f(u.change_pct[p]), _f(u.rel_volume[p]))
    fired = " and ".join(_fired_words(c, price, prev, chg, rv) for c in rule.conditions)
    return {
        "rule_id": rule.id, "owner_id": rule.owner_id, "stock_id": sid, "symbol": sym,
        "rule_name": rule.name[:80], "description": f"{sym} {fired}"[:300],
        "message": render_message(rule.message or DEFAULT_MESSAGE, symbol=sym, price=price, change_pct=chg,
                                  rule=rule.name, when=fired_at),
        "price": price, "prev_price": prev, "change_pct": chg, "rel_volume": rv,
        "values": {"conditions": rule.conditions, "words": rule_words(rule.conditions)},
        "snapshot_version": version, "quote_as_of": None, "snapshot_at": u.snapshot_at,
        "fired_at": fired_at,
        "latency_ms": ((fired_at - u.snapshot_at).total_seconds() * 1000 if u.snapshot_at else None),
    }


def write_events(u, rules_by_id: dict[int, AlertRule], won: set[tuple[int, int]], pos: dict,
                 version: int | None, fired_at: dt.datetime) -> list[tuple[int, int, int]]:
    """Insert one event per won (rule, stock) and count the firings on the rules; returns
    (event id, rule id, owner id) in insertion order."""
    rows = [_event_row(u, rules_by_id[rid], sid, pos[(rid, sid)], version, fired_at) for rid, sid in sorted(won)]
    inserted = db.session.execute(
        insert(AlertEvent).returning(AlertEvent.id, AlertEvent.rule_id, AlertEvent.owner_id,
                                     sort_by_parameter_order=True), rows).all()
    counts: dict[int, int] = defaultdict(int)
    for _, rid, _ in inserted:
        counts[rid] += 1
    rt = AlertRule.__table__
    db.session.execute(update(rt).where(rt.c.id == bindparam("rid"))
                       .values(times_fired=rt.c.times_fired + bindparam("n"), last_fired_at=fired_at),
                       [{"rid": rid, "n": k} for rid, k in counts.items()])
    once_symbol = [rid for rid in counts if rules_by_id[rid].trigger_mode == ONCE
                   and rules_by_id[rid].scope_kind == SCOPE_SYMBOL]
    if once_symbol:
        db.session.execute(update(rt).where(rt.c.id.in_(once_symbol), rt.c.status == ACTIVE).values(status=DONE))
    return [(int(e), int(r), int(o)) for e, r, o in inserted]


def write_deliveries(rules_by_id: dict[int, AlertRule], inserted: list[tuple[int, int, int]],
                     now: dt.datetime, fired_at: dt.datetime) -> list[int]:
    """One delivery row per external channel of each event: queued, or skipped with the
    reason (switched off, not in the plan, quiet hours). Returns the queued ids."""
    plan = _delivery_plan(rules_by_id, {o for _, _, o in inserted}, now)
    rows = []
    for eid, rid, owner in inserted:
        for ch in rules_by_id[rid].channels:
            reason = plan[owner][ch]
            if reason is None and plan[owner]["quiet"]:
                reason = "quiet hours"
            rows.append({"event_id": eid, "owner_id": owner, "channel": ch,
                         "status": D_QUEUED if reason is None else D_SKIPPED, "reason": reason,
                         "attempts": 0, "created_at": fired_at, "updated_at": fired_at})
    if not rows:
        return []
    got = db.session.execute(insert(AlertDelivery).returning(AlertDelivery.id, AlertDelivery.status,
                                                             sort_by_parameter_order=True), rows).all()
    return [i for i, st in got if st == D_QUEUED]


def after_commit(inserted: list[tuple[int, int, int]], queued_ids: list[int], *, enqueue: bool = True) -> None:
    """The events are committed: bump their owners' bells and record when the events became
    visible in the app (``delivered_at``: the in-app channel's delivery), then enqueue the
    external deliveries."""
    owners = {o for _, _, o in inserted}
    try:
        pipe = get_redis().pipeline()
        for o in owners:
            bump_bell(o, pipe)
        pipe.execute()
    except Exception:
        log.warning("could not bump alert bell versions")
    visible, ids = utcnow(), [e for e, _, _ in inserted]
    for i in range(0, len(ids), 1000):
        db.session.execute(update(AlertEvent).where(AlertEvent.id.in_(ids[i:i + 1000])).values(delivered_at=visible)
                           .execution_options(synchronize_session=False))
    db.session.commit()
    if enqueue and queued_ids:
        enqueue_deliveries_jobs(queued_ids)
