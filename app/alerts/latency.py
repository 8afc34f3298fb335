"""Alert latency per channel: scan -> event -> delivered, p50 / p95 over a recent window.

Times come from the rows: ``AlertEvent.snapshot_at`` (the cycle's snapshots written),
``AlertEvent.fired_at`` (the event row), and the delivery -- ``AlertEvent.delivered_at`` for
the in-app channel (committed, bell bumped), ``AlertDelivery.sent_at`` for email, SMS and
webhook (the provider accepted it). Percentiles are computed here (same on SQLite and
PostgreSQL) over at most ``limit`` most recent rows per channel.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models.alerts import D_SENT, EMAIL, SMS, WEBHOOK, AlertDelivery, AlertEvent

IN_APP = "in_app"
CHANNELS = ((IN_APP, "In-app"), (EMAIL, "Email"), (SMS, "SMS"), (WEBHOOK, "Webhook"))
DEFAULT_WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Spread:
    p50: float | None
    p95: float | None


@dataclass(frozen=True)
class ChannelLatency:
    channel: str
    label: str
    count: int
    scan_to_event: Spread
    event_to_delivered: Spread
    scan_to_delivered: Spread


def spread(values_ms) -> Spread:
    """p50 / p95 (linear interpolation, as numpy's default) in milliseconds; None when empty."""
    a = np.asarray([v for v in values_ms if v is not None], dtype=np.float64)
    if not a.size:
        return Spread(None, None)
    p50, p95 = np.percentile(a, [50, 95])
    return Spread(float(p50), float(p95))


def _ms(later: dt.datetime | None, earlier: dt.datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds() * 1000


def _rows(channel: str, since: dt.datetime, limit: int) -> list[tuple]:
    """(snapshot_at, fired_at, delivered) of the channel's delivered alerts since ``since``."""
    if channel == IN_APP:
        q = (select(AlertEvent.snapshot_at, AlertEvent.fired_at, AlertEvent.delivered_at)
             .where(AlertEvent.fired_at >= since, AlertEvent.delivered_at.is_not(None)))
    else:
        q = (select(AlertEvent.snapshot_at, AlertEvent.fired_at, AlertDelivery.sent_at)
             .join(AlertEvent, AlertEvent.id == AlertDelivery.event_id)
             .where(AlertDelivery.channel == channel, AlertDelivery.status == D_SENT,
                    AlertEvent.fired_at >= since, AlertDelivery.sent_at.is_not(None)))
    return db.session.execute(q.order_by(AlertEvent.fired_at.desc()).limit(limit)).all()


def latency_by_channel(window: dt.timedelta = DEFAULT_WINDOW, now: dt.datetime | None = None,
                       limit: int = 20_000) -> list[ChannelLatency]:
    """One row per channel (in-app, email, SMS, webhook), empty channels included."""
    since = (now or utcnow()) - window
    out = []
    for channel, label in CHANNELS:
        rows = _rows(channel, since, limit)
        out.append(ChannelLatency(
            channel=channel, label=label, count=len(rows),
            scan_to_event=spread(_ms(f, s) for s, f, _ in rows),
            event_to_delivered=spread(_ms(d, f) for _, f, d in rows),
            scan_to_delivered=spread(_ms(d, s) for s, _, d in rows)))
    return out
