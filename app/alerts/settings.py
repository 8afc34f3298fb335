"""Notification settings per user: channel switches, quiet hours (ET), the webhook URL and
its signing secret, phone verification by SMS code; the Redis fixed-window rate counter."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from flask import current_app
from sqlalchemy import update

from app.billing.plans import plan_for
from app.database import utcnow
from app.errors import InvalidInput, LimitReached, Throttled
from app.extensions import db
from app.models.alerts import (
    AlertRule,
    NotificationSettings,
)
from app.redis_store import get_redis
from app.web import ET


def get_settings(user) -> NotificationSettings:
    s = db.session.get(NotificationSettings, user.id)
    if s is None:
        s = NotificationSettings(user_id=user.id, email_on=True, sms_on=True, webhook_on=True,
                                 phone_code_attempts=0)
        db.session.add(s)
        db.session.flush()
    return s


def _parse_hhmm(raw: str, field_name: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", raw)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise InvalidInput("Use a time like 22:00.", field=field_name)
    return int(m.group(1)) * 60 + int(m.group(2))


def update_settings(user, *, email_on: bool, sms_on: bool, webhook_on: bool, quiet_start: str = "",
                    quiet_end: str = "") -> NotificationSettings:
    s = get_settings(user)
    start, end = _parse_hhmm(quiet_start, "quiet_start"), _parse_hhmm(quiet_end, "quiet_end")
    if (start is None) != (end is None):
        raise InvalidInput("Give both a start and an end for quiet hours, or neither.", field="quiet_end")
    if start is not None and start == end:
        raise InvalidInput("Quiet hours must not start and end at the same time.", field="quiet_end")
    s.email_on, s.sms_on, s.webhook_on = bool(email_on), bool(sms_on), bool(webhook_on)
    s.quiet_start, s.quiet_end = start, end
    db.session.commit()
    return s


def in_quiet_hours(s: NotificationSettings, now: dt.datetime) -> bool:
    if s.quiet_start is None or s.quiet_end is None:
        return False
    local = now.astimezone(ET)
    minute = local.hour * 60 + local.minute
    if s.quiet_start < s.quiet_end:
        return s.quiet_start <= minute < s.quiet_end
    return minute >= s.quiet_start or minute < s.quiet_end


def set_webhook(user, url: str) -> NotificationSettings:
    from app.alerts.channels import UnsafeURL, check_url_syntax

    s = get_settings(user)
    url = (url or "").strip()
    if not url:
        s.webhook_url = None
    else:
        if not plan_for(user).alert_webhooks:
            raise LimitReached(f"Webhook alerts are not included in the {plan_for(user).name} plan. "
                               "Upgrade to Basic or Pro.")
        try:
            check_url_syntax(url)
        except UnsafeURL as exc:
            raise InvalidInput(f"The {exc}.".replace("The the", "The"), field="webhook_url") from None
        s.webhook_url = url
        if not s.webhook_secret:
            s.webhook_secret = secrets.token_hex(32)
    db.session.commit()
    return s


def rotate_webhook_secret(user) -> NotificationSettings:
    s = get_settings(user)
    s.webhook_secret = secrets.token_hex(32)
    db.session.commit()
    return s


def sms_configured() -> bool:
    return bool(current_app.config.get("TEXTBELT_KEY"))


def _code_hash(user_id: int, phone: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"phone:{user_id}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def normalise_phone(raw: str) -> str:
    digits = re.sub(r"[\s\-().]", "", raw or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"\d{10}", digits):  # a US number without the country code
        digits = "+1" + digits
    if not re.fullmatch(r"\+[1-9]\d{7,14}", digits):
        raise InvalidInput("Enter the phone number in international form, e.g. +1 555 123 4567.", field="phone")
    return digits


def _rate(key: str, limit: int, window: int) -> bool:
    """Fixed-window counter in Redis (shared by all processes): True while under the limit."""
    pipe = get_redis().pipeline()
    pipe.set(key, 0, ex=window, nx=True)  # the window starts with the first hit (Redis 6 has no EXPIRE NX)
    pipe.incr(key)
    n = pipe.execute()[1]
    return int(n) <= limit


def send_phone_code(user, phone: str) -> NotificationSettings:
    from app.alerts.channels import DeliveryError, send_sms

    plan = plan_for(user)
    if not plan.sms_per_month:
        raise LimitReached(f"SMS alerts are not included in the {plan.name} plan. Upgrade to Basic or Pro.")
    if not current_app.config.get("TEXTBELT_KEY"):
        raise InvalidInput("SMS is not configured on this server.", field="phone")
    phone = normalise_phone(phone)
    if not _rate(f"alerts:phone-code:{user.id}", 3, 3600):
        raise Throttled("Too many codes requested: try again in an hour.", retry_after=3600)
    s = get_settings(user)
    code = f"{secrets.randbelow(1_000_000):06d}"
    try:
        send_sms(phone, f"Your Stock Scanner verification code is {code}. It expires in 10 minutes.")
    except DeliveryError as exc:
        raise InvalidInput(f"Could not send the code: {exc.reason}", field="phone") from None
    if s.phone != phone:
        s.phone_verified_at = None
    s.phone = phone
    s.phone_code_hash = _code_hash(user.id, phone, code)
    s.phone_code_expires_at = utcnow() + dt.timedelta(minutes=10)
    s.phone_code_attempts = 0
    db.session.commit()
    return s


def verify_phone(user, code: str) -> NotificationSettings:
    s = get_settings(user)
    code = re.sub(r"\s", "", code or "")
    if not s.phone or not s.phone_code_hash or not s.phone_code_expires_at:
        raise InvalidInput("Request a code first.", field="code")
    if s.phone_code_expires_at <= utcnow() or s.phone_code_attempts >= 5:
        s.phone_code_hash = None
        db.session.commit()
        raise InvalidInput("The code expired: request a new one.", field="code")
    s.phone_code_attempts += 1
    if not hmac.compare_digest(s.phone_code_hash, _code_hash(user.id, s.phone, code)):
        db.session.commit()
        raise InvalidInput("That code is not right.", field="code")
    s.phone_verified_at = utcnow()
    s.phone_code_hash = None
    s.phone_code_expires_at = None
    db.session.commit()
    return s


def remove_phone(user) -> NotificationSettings:
    s = get_settings(user)
    s.phone = s.phone_code_hash = s.phone_code_expires_at = s.phone_verified_at = None
    db.session.execute(update(AlertRule).where(AlertRule.owner_id == user.id).values(notify_sms=False))
    db.session.commit()
    return s
