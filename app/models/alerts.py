"""Alerts: rules a trader sets, the events they fire, their per-channel deliveries,
templates, and each user's notification settings.

One concept, one model: an :class:`AlertRule` is evaluated every 1-minute cycle
(``app.alerts.services.evaluate_cycle``); each firing is one :class:`AlertEvent` row with the
values that made it true; each external channel of an event is one :class:`AlertDelivery`.
The per-(rule, symbol) :class:`AlertRuleState` row is what makes cooldown and "once" atomic:
a firing is claimed by a conditional UPDATE on it (only one worker can win a claim).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db

# scope kinds
SCOPE_SYMBOL, SCOPE_WATCHLIST, SCOPE_SCREEN, SCOPE_UNIVERSE = "symbol", "watchlist", "screen", "universe"
SCOPES = (SCOPE_SYMBOL, SCOPE_WATCHLIST, SCOPE_SCREEN, SCOPE_UNIVERSE)

# condition kinds
PRICE_ABOVE, PRICE_BELOW = "price_above", "price_below"
CROSSES_ABOVE, CROSSES_BELOW = "crosses_above", "crosses_below"
CHANGE_ABOVE, CHANGE_BELOW = "change_above", "change_below"
VOLUME_SPIKE, FORMULA = "volume_spike", "formula"
SCREEN_ENTER, SCREEN_EXIT = "screen_enter", "screen_exit"
THRESHOLD_KINDS = (PRICE_ABOVE, PRICE_BELOW, CROSSES_ABOVE, CROSSES_BELOW, CHANGE_ABOVE, CHANGE_BELOW,
                   VOLUME_SPIKE)
CONDITION_KINDS = (*THRESHOLD_KINDS, FORMULA, SCREEN_ENTER, SCREEN_EXIT)

# trigger modes
ONCE, COOLDOWN = "once", "cooldown"
DEFAULT_COOLDOWN = 60

# rule status
ACTIVE, PAUSED, EXPIRED, DONE = "active", "paused", "expired", "done"
RULE_STATUSES = (ACTIVE, PAUSED, EXPIRED, DONE)

# channels (in-app is always on and has no delivery row)
EMAIL, SMS, WEBHOOK = "email", "sms", "webhook"
CHANNELS = (EMAIL, SMS, WEBHOOK)

# delivery status
D_QUEUED, D_SENT, D_RETRYING, D_FAILED, D_SKIPPED = "queued", "sent", "retrying", "failed", "skipped"

DEFAULT_MESSAGE = "{symbol} {rule}: {price} ({change_pct}) at {time}"


class AlertRule(db.Model):
    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    scope_kind: Mapped[str] = mapped_column(String(10), default=SCOPE_SYMBOL)
    stock_id: Mapped[int | None] = mapped_column(ForeignKey("stocks.id", ondelete="CASCADE"), index=True)
    # watchlist id / saved screen id for those scopes
    scope_ref_id: Mapped[int | None] = mapped_column(Integer)
    # [{"kind": ..., "value": float|None, "formula": str|None}, ...] combined with AND
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    trigger_mode: Mapped[str] = mapped_column(String(10), default=COOLDOWN)
    cooldown_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_COOLDOWN)
    notify_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notify_sms: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notify_webhook: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    message: Mapped[str] = mapped_column(String(500), default=DEFAULT_MESSAGE)
    expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE, index=True)
    last_fired_at: Mapped[datetime | None]
    times_fired: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner = relationship("User")
    stock = relationship("Stock")

    @property
    def channels(self) -> list[str]:
        return [c for c, on in ((EMAIL, self.notify_email), (SMS, self.notify_sms),
                                (WEBHOOK, self.notify_webhook)) if on]


class AlertRuleState(db.Model):
    """Per (rule, symbol): when it may fire next. Claimed by a conditional UPDATE."""

    __tablename__ = "alert_rule_states"

    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True)
    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id", ondelete="CASCADE"), primary_key=True)
    next_allowed_at: Mapped[datetime | None]
    last_fired_at: Mapped[datetime | None]


class AlertTemplate(db.Model):
    __tablename__ = "alert_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    trigger_mode: Mapped[str] = mapped_column(String(10), default=COOLDOWN)
    cooldown_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_COOLDOWN)
    notify_email: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_webhook: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str] = mapped_column(String(500), default=DEFAULT_MESSAGE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("owner_id", "name"),)


class AlertEvent(db.Model):
    """One firing of a rule for one symbol, with the values that made it true."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # the history outlives the rule: deleting an alert keeps its triggered rows
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rules.id", ondelete="SET NULL"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id", ondelete="CASCADE"), index=True)
    symbol: Mapped[str] = mapped_column(String(10))
    rule_name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(300))  # "AAPL 191.20 crossed above 190.00"
    message: Mapped[str] = mapped_column(String(600))
    price: Mapped[float | None] = mapped_column(Double)
    prev_price: Mapped[float | None] = mapped_column(Double)
    change_pct: Mapped[float | None] = mapped_column(Double)
    rel_volume: Mapped[float | None] = mapped_column(Double)
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    snapshot_version: Mapped[int | None] = mapped_column(BigInteger)
    quote_as_of: Mapped[datetime | None]
    snapshot_at: Mapped[datetime | None]  # when the cycle's snapshots were written
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    latency_ms: Mapped[float | None] = mapped_column(Double)  # snapshot written -> event row
    # the in-app channel: when the committed event became visible (the owner's bell bumped)
    delivered_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]

    rule = relationship("AlertRule")
    deliveries: Mapped[list[AlertDelivery]] = relationship(back_populates="event", cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_alert_events_owner_id_fired_at", "owner_id", "fired_at"),
        Index("ix_alert_events_owner_id_acknowledged_at", "owner_id", "acknowledged_at"),
    )


class AlertDelivery(db.Model):
    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=D_QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(500))
    next_retry_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]  # delivered: the channel's provider accepted it
    latency_ms: Mapped[float | None] = mapped_column(Double)  # snapshot written -> delivered (sent_at)
    provider_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    event: Mapped[AlertEvent] = relationship(back_populates="deliveries")

    __table_args__ = (UniqueConstraint("event_id", "channel"),)


class NotificationSettings(db.Model):
    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email_on: Mapped[bool] = mapped_column(Boolean, default=True)
    sms_on: Mapped[bool] = mapped_column(Boolean, default=True)
    webhook_on: Mapped[bool] = mapped_column(Boolean, default=True)
    # quiet hours in ET, minutes after midnight; None = no quiet hours
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(20))
    phone_verified_at: Mapped[datetime | None]
    phone_code_hash: Mapped[str | None] = mapped_column(String(64))
    phone_code_expires_at: Mapped[datetime | None]
    phone_code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def phone_verified(self) -> bool:
        return bool(self.phone and self.phone_verified_at)
