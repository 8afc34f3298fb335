"""Deliveries: one job per external channel of an event (email, SMS, webhook), claimed
atomically, sent with per-plan quotas and rate limits, retried with backoff."""
from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from flask import current_app
from sqlalchemy import func, select, update

from app.alerts.settings import _rate, get_settings
from app.billing.plans import plan_for
from app.database import utcnow
from app.extensions import db
from app.models import User
from app.models.alerts import (
    D_FAILED,
    D_QUEUED,
    D_RETRYING,
    D_SENT,
    EMAIL,
    SMS,
    WEBHOOK,
    AlertDelivery,
    AlertEvent,
)
from app.redis_store import get_redis

log = logging.getLogger(__name__)

D_SENDING = "sending"
BACKOFF_SECONDS = (30, 120, 480, 1800)
DELIVER_TASK = "app.alerts.tasks.deliver"  # by dotted path: services never import tasks


def enqueue_deliveries_jobs(ids: list[int]) -> None:
    """One delivery job per id on ``default``, pipelined in batches of 1,000."""
    from rq import Queue

    from app.jobs import get_queue

    q = get_queue("default")
    if not q.is_async:
        for i in ids:
            q.enqueue(DELIVER_TASK, i)
        return
    pipe = q.connection.pipeline()
    jobs = [Queue.prepare_data(DELIVER_TASK, (i,), result_ttl=300, failure_ttl=86400) for i in ids]
    for k in range(0, len(jobs), 1000):
        q.enqueue_many(jobs[k:k + 1000], pipeline=pipe)
        pipe.execute()


def _claim_delivery(delivery_id: int) -> AlertDelivery | None:
    now = utcnow()
    n = db.session.execute(update(AlertDelivery).where(
        AlertDelivery.id == delivery_id,
        AlertDelivery.status.in_([D_QUEUED, D_RETRYING]))  # retry_due() decides when a retry is due
        .values(status=D_SENDING, attempts=AlertDelivery.attempts + 1, updated_at=now)).rowcount
    db.session.commit()
    if not n:
        return None
    return db.session.get(AlertDelivery, delivery_id)


def _month_key(user_id: int, now: dt.datetime) -> str:
    return f"alerts:sms-month:{user_id}:{now:%Y%m}"


def _sms_quota(user, now: dt.datetime) -> str | None:
    """None when this SMS may go out (counts it), else the reason it may not."""
    plan = plan_for(user)
    limit = plan.sms_per_month or 0
    r = get_redis()
    key = _month_key(user.id, now)
    if not r.exists(key):
        start = now.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        used = db.session.scalar(select(func.count()).select_from(AlertDelivery).where(
            AlertDelivery.owner_id == user.id, AlertDelivery.channel == SMS, AlertDelivery.status == D_SENT,
            AlertDelivery.sent_at >= start)) or 0
        r.set(key, used, nx=True, ex=40 * 86400)
    if int(r.incr(key)) > limit:
        r.decr(key)
        return f"monthly SMS limit of the {plan.name} plan reached ({limit})"
    if not _rate(f"alerts:sms-hour:{user.id}", current_app.config["ALERTS_SMS_PER_HOUR"], 3600):
        r.decr(key)
        return f"rate limit: more than {current_app.config['ALERTS_SMS_PER_HOUR']} SMS in an hour"
    return None


def deliver(delivery_id: int) -> str:
    """Send one delivery (one channel of one event). Returns its new status."""
    from app.alerts.channels import DeliveryError

    d = _claim_delivery(delivery_id)
    if d is None:
        return "skipped"
    user = db.session.get(User, d.owner_id)
    now = utcnow()
    max_attempts = current_app.config["ALERTS_DELIVERY_MAX_ATTEMPTS"]
    try:
        provider_id = _send(d, d.event, user, now)
    except DeliveryError as exc:
        d.reason = exc.reason
        if exc.retry and d.attempts < max_attempts:
            d.status = D_RETRYING
            d.next_retry_at = now + dt.timedelta(seconds=BACKOFF_SECONDS[min(d.attempts - 1,
                                                                                  len(BACKOFF_SECONDS) - 1)])
        else:
            d.status = D_FAILED
            d.next_retry_at = None
        db.session.commit()
        return d.status
    except Exception as exc:  # a bug in a channel: record it, never leave the row "sending"
        d.reason = f"internal error: {type(exc).__name__}"[:480]
        d.status = D_RETRYING if d.attempts < max_attempts else D_FAILED
        d.next_retry_at = now + dt.timedelta(seconds=BACKOFF_SECONDS[0]) if d.status == D_RETRYING else None
        db.session.commit()
        raise
    d.status, d.sent_at, d.reason, d.next_retry_at = D_SENT, utcnow(), None, None
    if d.event.snapshot_at is not None:  # scan -> delivered, per channel (admin latency page)
        d.latency_ms = (d.sent_at - d.event.snapshot_at).total_seconds() * 1000
    d.provider_id = (provider_id or "")[:100] or None
    db.session.commit()
    return d.status


def _send(d: AlertDelivery, ev: AlertEvent, user: User, now: dt.datetime) -> str | None:
    """Hand the event to the delivery's channel; returns the provider's id. Raises
    DeliveryError (retry=False) when the channel may not be used now."""
    from app.alerts.channels import DeliveryError, send_email, send_sms, send_webhook

    s = get_settings(user)
    if d.channel == EMAIL:
        if not user.email_confirmed:
            raise DeliveryError("the email address is not confirmed yet", retry=False)
        return send_email(user.email, f"Alert: {ev.symbol} — {ev.rule_name}",
                          f"{ev.message}\n\n{ev.description}\n\n"
                          f"See your alerts: {current_app.config['BASE_URL']}/alerts/triggered\n")
    if d.channel == SMS:
        if not s.phone_verified:
            raise DeliveryError("no verified phone number", retry=False)
        reason = _sms_quota(user, now)
        if reason:
            raise DeliveryError(reason, retry=False)
        return send_sms(s.phone, ev.message)
    if d.channel == WEBHOOK:
        if not s.webhook_url or not s.webhook_secret:
            raise DeliveryError("no webhook URL set", retry=False)
        limit = current_app.config["ALERTS_WEBHOOKS_PER_MINUTE"]
        if not _rate(f"alerts:webhook-min:{user.id}", limit, 60):
            raise DeliveryError(f"rate limit: more than {limit} webhooks a minute", retry=False)
        return send_webhook(s.webhook_url, s.webhook_secret, webhook_payload(ev), f"evt_{ev.id}")
    raise DeliveryError(f"unknown channel {d.channel}", retry=False)


def webhook_payload(ev: AlertEvent) -> dict:
    return {
        "id": f"evt_{ev.id}", "type": "alert.triggered", "rule_id": ev.rule_id, "rule": ev.rule_name,
        "symbol": ev.symbol, "price": ev.price, "change_pct": ev.change_pct, "message": ev.message,
        "description": ev.description, "fired_at": ev.fired_at.isoformat(),
    }


def retry_due(now: dt.datetime | None = None) -> int:
    """Re-enqueue deliveries whose backoff is over (and rescue rows left "sending" by a lost
    worker). Runs every minute (app/schedule.py) and after each evaluation."""
    now = now or utcnow()
    db.session.execute(update(AlertDelivery).where(
        AlertDelivery.status == D_SENDING, AlertDelivery.updated_at <= now - dt.timedelta(minutes=5))
        .values(status=D_RETRYING, next_retry_at=now, reason="worker lost while sending"))
    db.session.commit()
    ids = list(db.session.scalars(select(AlertDelivery.id).where(
        AlertDelivery.status == D_RETRYING, AlertDelivery.next_retry_at <= now).limit(5000)))
    if ids:
        enqueue_deliveries_jobs(ids)
    return len(ids)


def deliveries_for(user, event_ids: list[int]) -> dict[int, list[AlertDelivery]]:
    out: dict[int, list[AlertDelivery]] = defaultdict(list)
    if event_ids:
        for d in db.session.scalars(select(AlertDelivery).where(AlertDelivery.owner_id == user.id,
                                                                AlertDelivery.event_id.in_(event_ids))
                                    .order_by(AlertDelivery.channel)):
            out[d.event_id].append(d)
    return out
