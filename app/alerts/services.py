"""Alerts: rules (owner-scoped CRUD, plan limits), templates, triggered events, notification
settings, the per-cycle evaluation and the per-channel deliveries.

Evaluation (``evaluate_cycle``) runs once per 1-minute cycle as a job on ``scans``:

1. one query loads the whole universe (snapshot with its ``prev_*`` values + stored
   indicators) into arrays; one query loads every active rule;
2. rules are grouped by their compiled expression: a built-in condition is a key such as
   ``("crosses_above", 190.0)`` computed once as a boolean mask over the whole universe, a
   formula is compiled once (cached) and all distinct formulas are evaluated together in
   cross-section mode (``evaluate_many``); a rule's result is the AND of its condition masks,
   read at the positions of its scope -- no per-rule queries;
3. firings are claimed atomically: a conditional ``UPDATE alert_rule_states ... WHERE
   next_allowed_at IS NULL OR next_allowed_at <= now RETURNING`` (cooldown per symbol, "once"
   = never again for that symbol) in the same transaction that inserts the events, so two
   workers evaluating the same cycle can never both fire;
4. after commit: the owners' bell versions are bumped (Redis) and one delivery job per
   external channel is enqueued on ``default``.

"Crosses" compares the stored previous cycle's price (``Snapshot.prev_price``) with the
current one: it is true only in the cycle of the crossing, so it fires once per crossing.
Formulas may use daily history (``close > sma(close, 50)``): they are evaluated on the daily
bars ending with the live quote, built by :mod:`app.market.series` exactly as the screener
does; a history formula containing ``crosses_above``/``crosses_below`` is evaluated on the bars
ending with the previous quote too and fires only on its false -> true transition.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import math
import re
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import bindparam, delete, func, insert, or_, select, tuple_, update

from app.billing.plans import enforce_limit, lock_owner, plan_for
from app.database import utcnow
from app.errors import InvalidInput, LimitReached, NotFound, Throttled, parse_id
from app.extensions import db
from app.models import Snapshot, Stock, StockIndicator, User
from app.models.alerts import (
    ACTIVE,
    CHANGE_ABOVE,
    CHANGE_BELOW,
    CONDITION_KINDS,
    COOLDOWN,
    CROSSES_ABOVE,
    CROSSES_BELOW,
    D_FAILED,
    D_QUEUED,
    D_RETRYING,
    D_SENT,
    D_SKIPPED,
    DEFAULT_COOLDOWN,
    DEFAULT_MESSAGE,
    DONE,
    EMAIL,
    EXPIRED,
    FORMULA,
    ONCE,
    PAUSED,
    PRICE_ABOVE,
    PRICE_BELOW,
    SCOPE_SCREEN,
    SCOPE_SYMBOL,
    SCOPE_UNIVERSE,
    SCOPE_WATCHLIST,
    SCOPES,
    SCREEN_ENTER,
    SCREEN_EXIT,
    SMS,
    THRESHOLD_KINDS,
    VOLUME_SPIKE,
    WEBHOOK,
    AlertDelivery,
    AlertEvent,
    AlertRule,
    AlertRuleState,
    AlertTemplate,
    NotificationSettings,
)
from app.redis_store import get_redis
from app.web import ET

log = logging.getLogger(__name__)

D_SENDING = "sending"
FOREVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
BACKOFF_SECONDS = (30, 120, 480, 1800)
MAX_COOLDOWN = 7 * 24 * 60
CONDITION_LABELS = {
    PRICE_ABOVE: "Price above", PRICE_BELOW: "Price below",
    CROSSES_ABOVE: "Price crosses above", CROSSES_BELOW: "Price crosses below",
    CHANGE_ABOVE: "Change % above", CHANGE_BELOW: "Change % below",
    VOLUME_SPIKE: "Volume spike (relative volume ≥)", FORMULA: "Formula (rule language)",
    SCREEN_ENTER: "Enters a saved screen", SCREEN_EXIT: "Leaves a saved screen",
}
SCOPE_LABELS = {SCOPE_SYMBOL: "One symbol", SCOPE_WATCHLIST: "A watchlist", SCOPE_SCREEN: "A saved screen",
                SCOPE_UNIVERSE: "Whole market"}
# fields alerts see with the previous cycle's value too ((prev, current) -> "crosses" works)
TWO_BAR_FIELDS = ("close", "price", "volume", "change_pct")
ONE_BAR_SNAPSHOT = ("open", "high", "low", "gap_pct", "market_cap", "week52_high", "week52_low")
HISTORY_BAR_FIELDS = ("open", "high", "low", "close", "volume")
INDICATOR_FIELDS = ("rsi14", "sma20", "sma50", "sma200", "ema12", "ema26", "atr14", "macd", "macd_signal",
                    "macd_hist", "bb_upper", "bb_lower")
PLACEHOLDER = re.compile(r"\{(symbol|price|change_pct|rule|time)\}")


def bell_key(user_id: int) -> str:
    return f"alerts:bell:{user_id}"


# =========================================================================== words
def fmt_num(v: float | None, decimals: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:,.4f}" if abs(v) < 1 and decimals == 2 and v != 0 else f"{v:,.{decimals}f}"


def fmt_pct(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:+.2f} %"


def condition_words(c: dict, screen_names: dict | None = None) -> str:
    kind, v = c.get("kind"), c.get("value")
    if kind == PRICE_ABOVE:
        return f"price above {fmt_num(v)}"
    if kind == PRICE_BELOW:
        return f"price below {fmt_num(v)}"
    if kind == CROSSES_ABOVE:
        return f"price crosses above {fmt_num(v)}"
    if kind == CROSSES_BELOW:
        return f"price crosses below {fmt_num(v)}"
    if kind == CHANGE_ABOVE:
        return f"change above {fmt_pct(v)}"
    if kind == CHANGE_BELOW:
        return f"change below {fmt_pct(v)}"
    if kind == VOLUME_SPIKE:
        return f"relative volume ≥ {fmt_num(v, 1)}×"
    if kind == FORMULA:
        return f"formula {c.get('formula')}"
    if kind in (SCREEN_ENTER, SCREEN_EXIT):
        return "enters the screen" if kind == SCREEN_ENTER else "leaves the screen"
    return kind or "?"


def rule_words(conditions: list[dict]) -> str:
    return " and ".join(condition_words(c) for c in conditions) or "—"


def _fired_words(c: dict, price, prev, change, relvol) -> str:
    kind, v = c.get("kind"), c.get("value")
    if kind == CROSSES_ABOVE:
        return f"{fmt_num(price)} crossed above {fmt_num(v)} (was {fmt_num(prev)})"
    if kind == CROSSES_BELOW:
        return f"{fmt_num(price)} crossed below {fmt_num(v)} (was {fmt_num(prev)})"
    if kind == PRICE_ABOVE:
        return f"{fmt_num(price)} is above {fmt_num(v)}"
    if kind == PRICE_BELOW:
        return f"{fmt_num(price)} is below {fmt_num(v)}"
    if kind == CHANGE_ABOVE:
        return f"change {fmt_pct(change)} is above {fmt_pct(v)}"
    if kind == CHANGE_BELOW:
        return f"change {fmt_pct(change)} is below {fmt_pct(v)}"
    if kind == VOLUME_SPIKE:
        return f"relative volume {fmt_num(relvol, 1)}× ≥ {fmt_num(v, 1)}×"
    if kind == FORMULA:
        return f"matched {c.get('formula')} at {fmt_num(price)}"
    if kind == SCREEN_ENTER:
        return f"entered the screen at {fmt_num(price)}"
    if kind == SCREEN_EXIT:
        return f"left the screen at {fmt_num(price)}"
    return kind


def render_message(template: str, *, symbol: str, price, change_pct, rule: str, when: dt.datetime) -> str:
    """Fill the five placeholders (a plain substitution: never str.format on user text)."""
    values = {"symbol": symbol, "price": fmt_num(price), "change_pct": fmt_pct(change_pct), "rule": rule,
              "time": when.astimezone(ET).strftime("%H:%M ET")}
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)[:600]


# =========================================================================== validation
def _number(raw: Any, label: str, field_name: str, *, minimum: float | None = None,
            maximum: float | None = None) -> float:
    try:
        v = float(str(raw).strip().replace(",", ""))
    except (TypeError, ValueError):
        raise InvalidInput(f"{label} must be a number.", field=field_name) from None
    if not math.isfinite(v):
        raise InvalidInput(f"{label} must be a number.", field=field_name)
    if minimum is not None and v < minimum:
        raise InvalidInput(f"{label} must be at least {minimum:g}.", field=field_name)
    if maximum is not None and v > maximum:
        raise InvalidInput(f"{label} must be at most {maximum:g}.", field=field_name)
    return v


def _light(rule) -> bool:
    """A formula answered by the last two 1-minute values alone (no daily history): price,
    close, volume and change_pct over at most 2 bars, every other field at the last bar."""
    from app.rules import CROSS_SECTION
    from app.rules.checker import FieldRef

    needs = rule.needs(CROSS_SECTION)
    return all(needs[i] <= (2 if step.name in TWO_BAR_FIELDS else 1)
               for i, step in enumerate(rule.steps) if type(step) is FieldRef and step.kind == "number")


def check_formula(text: str, field_name: str = "formula"):
    """Compile a formula for alerts: any rule-language condition. Formulas needing history
    (``close > sma(close, 50)``) are evaluated on the daily bars ending with the live quote
    (:mod:`app.market.series`); only fields that have no history (``market_cap``) cannot be
    used over several bars."""
    from app.market.series import history_fields
    from app.rules import RuleError, compile_rule
    from app.rules.fields import FIELDS

    text = (text or "").strip()
    if not text:
        raise InvalidInput("Enter a formula, for example rsi14 < 30 and close > sma(close, 50).", field=field_name)
    if len(text) > 1000:
        raise InvalidInput("The formula is too long (1,000 characters at most).", field=field_name)
    try:
        rule = compile_rule(text, expect="condition")
    except RuleError as exc:
        raise InvalidInput(f"Formula: {exc}", field=field_name) from None
    if not _light(rule):
        for name in sorted(history_fields(rule)):
            spec = FIELDS.get(name)
            if name not in HISTORY_BAR_FIELDS and (spec is None or spec.derive is None):
                raise InvalidInput(f"Formula: `{name}` has no daily history; use it only at the latest value "
                                   f"(e.g. {name} > 1e9), not inside functions over several bars.",
                                   field=field_name)
    return rule


def normalise_conditions(conditions: list[dict]) -> list[dict]:
    """Validate a list of conditions (combined with AND) into their stored form."""
    if not conditions:
        raise InvalidInput("Add a condition.", field="kind")
    if len(conditions) > 5:
        raise InvalidInput("At most 5 conditions per alert.", field="kind")
    out = []
    for c in conditions:
        kind = c.get("kind")
        if kind not in CONDITION_KINDS:
            raise InvalidInput("Choose a condition.", field="kind")
        if kind in THRESHOLD_KINDS:
            label = {VOLUME_SPIKE: "Relative volume", CHANGE_ABOVE: "Change %", CHANGE_BELOW: "Change %"}.get(
                kind, "Price")
            if kind == VOLUME_SPIKE:
                v = _number(c.get("value"), label, "value", minimum=0.1, maximum=1000)
            elif kind in (CHANGE_ABOVE, CHANGE_BELOW):
                v = _number(c.get("value"), label, "value", minimum=-100, maximum=10000)
            else:
                v = _number(c.get("value"), label, "value", minimum=0.0001, maximum=10_000_000)
            out.append({"kind": kind, "value": v})
        elif kind == FORMULA:
            rule = check_formula(c.get("formula") or "")
            out.append({"kind": kind, "formula": rule.text})
        else:
            out.append({"kind": kind})
    return out


# =========================================================================== rules
@dataclass
class RuleInput:
    name: str = ""
    scope_kind: str = SCOPE_SYMBOL
    symbol: str = ""
    scope_ref_id: int | None = None
    conditions: list[dict] = field(default_factory=list)
    trigger_mode: str = COOLDOWN
    cooldown_minutes: Any = DEFAULT_COOLDOWN
    notify_email: bool = False
    notify_sms: bool = False
    notify_webhook: bool = False
    message: str = ""
    expires_on: dt.date | None = None


def get_rule(user, rule_id: int) -> AlertRule:
    rule = db.session.get(AlertRule, rule_id)
    if rule is None or rule.owner_id != user.id:
        raise NotFound("No such alert.")
    return rule


def list_rules(user) -> list[AlertRule]:
    return list(db.session.scalars(select(AlertRule).where(AlertRule.owner_id == user.id)
                                   .order_by(AlertRule.created_at.desc(), AlertRule.id.desc())))


def active_count(user, exclude_id: int | None = None) -> int:
    q = select(func.count()).select_from(AlertRule).where(AlertRule.owner_id == user.id,
                                                          AlertRule.status == ACTIVE)
    if exclude_id:
        q = q.where(AlertRule.id != exclude_id)
    return db.session.scalar(q) or 0


def _check_active_limit(user, exclude_id: int | None = None) -> None:
    enforce_limit(user, plan_for(user), "alerts_active", lambda: active_count(user, exclude_id), noun="active alerts",
                  message="Your {plan} plan allows {limit} active alerts. Pause or delete one, "
                          "or upgrade your plan for more.")


def _check_channels(user, email: bool, sms: bool, webhook: bool) -> None:
    plan = plan_for(user)
    if sms and not plan.sms_per_month:
        raise LimitReached(f"SMS alerts are not included in the {plan.name} plan. Upgrade to Basic or Pro.")
    if webhook and not plan.alert_webhooks:
        raise LimitReached(f"Webhook alerts are not included in the {plan.name} plan. Upgrade to Basic or Pro.")
    if sms:
        s = get_settings(user)
        if not s.phone_verified:
            raise InvalidInput("Verify a phone number in the notification settings before choosing SMS.",
                               field="notify_sms")
    if webhook:
        s = get_settings(user)
        if not s.webhook_url:
            raise InvalidInput("Set a webhook URL in the notification settings before choosing webhook.",
                               field="notify_webhook")


def _resolve_scope(user, data: RuleInput) -> tuple[str, int | None, int | None]:
    kind = data.scope_kind
    if kind not in SCOPES:
        raise InvalidInput("Choose what the alert watches.", field="scope_kind")
    if kind == SCOPE_SYMBOL:
        symbol = (data.symbol or "").strip().upper()
        if not symbol:
            raise InvalidInput("Enter a symbol.", field="symbol")
        stock = db.session.scalar(select(Stock).where(Stock.symbol == symbol[:10]))
        if stock is None or len(symbol) > 10:
            raise InvalidInput(f"Unknown symbol {symbol[:12]}.", field="symbol")
        return kind, stock.id, None
    if kind == SCOPE_UNIVERSE:
        plan = plan_for(user)
        if not plan.alerts_universe:
            raise LimitReached(f"Whole-market alerts are part of the Pro plan (you have {plan.name}). "
                               "Upgrade, or watch one symbol or a watchlist.")
        return kind, None, None
    ref = _scope_ref(user, kind, data.scope_ref_id)
    return kind, None, ref


def _scope_ref(user, kind: str, ref_id) -> int:
    from app.alerts import scopes

    label = "watchlist" if kind == SCOPE_WATCHLIST else "saved screen"
    field_name = "watchlist_id" if kind == SCOPE_WATCHLIST else "screen_id"
    if not scopes.available(kind):
        raise InvalidInput(f"{label.capitalize()} alerts are not available yet.", field="scope_kind")
    try:
        ref_id = parse_id(ref_id)
    except ValueError:
        raise InvalidInput(f"Choose a {label}.", field=field_name) from None
    if not scopes.owns(user, kind, ref_id):
        raise InvalidInput(f"Choose one of your {label}s.", field=field_name)
    return ref_id


def _apply(user, rule: AlertRule, data: RuleInput) -> None:
    conditions = normalise_conditions(data.conditions)
    kind, stock_id, ref = _resolve_scope(user, data)
    membership = {c["kind"] for c in conditions} & {SCREEN_ENTER, SCREEN_EXIT}
    if membership and kind != SCOPE_SCREEN:
        raise InvalidInput("“Enters / leaves a saved screen” needs a saved screen as the scope.", field="kind")
    if membership and len(conditions) > 1:
        raise InvalidInput("A screen entry/exit alert has no other conditions.", field="kind")
    if data.trigger_mode not in (ONCE, COOLDOWN):
        raise InvalidInput("Choose once or repeat after a cooldown.", field="trigger_mode")
    cooldown = DEFAULT_COOLDOWN
    if data.trigger_mode == COOLDOWN:
        raw = data.cooldown_minutes if data.cooldown_minutes not in (None, "") else DEFAULT_COOLDOWN
        cooldown = int(_number(raw, "Cooldown", "cooldown_minutes", minimum=1, maximum=MAX_COOLDOWN))
    expires_at = None
    if data.expires_on:
        expires_at = dt.datetime.combine(data.expires_on, dt.time(23, 59, 59), tzinfo=ET).astimezone(dt.UTC)
        if expires_at <= utcnow():
            raise InvalidInput("The expiry date must be in the future.", field="expires_on")
    name = (data.name or "").strip()[:80]
    message = (data.message or "").strip()[:500] or DEFAULT_MESSAGE
    _check_channels(user, data.notify_email, data.notify_sms, data.notify_webhook)
    if not name:
        sym = db.session.get(Stock, stock_id).symbol + " " if stock_id else ""
        name = (sym + rule_words(conditions))[:80]
    rule.name, rule.scope_kind, rule.stock_id, rule.scope_ref_id = name, kind, stock_id, ref
    rule.conditions, rule.trigger_mode, rule.cooldown_minutes = conditions, data.trigger_mode, cooldown
    rule.notify_email, rule.notify_sms, rule.notify_webhook = (bool(data.notify_email), bool(data.notify_sms),
                                                               bool(data.notify_webhook))
    rule.message, rule.expires_at = message, expires_at


def create_rule(user, data: RuleInput) -> AlertRule:
    _check_active_limit(user)
    rule = AlertRule(owner_id=user.id, status=ACTIVE, times_fired=0)
    _apply(user, rule, data)
    db.session.add(rule)
    db.session.commit()
    return rule


def update_rule(user, rule_id: int, data: RuleInput) -> AlertRule:
    rule = get_rule(user, rule_id)
    _apply(user, rule, data)
    if rule.status in (EXPIRED, DONE) and (rule.expires_at is None or rule.expires_at > utcnow()):
        _check_active_limit(user, exclude_id=rule.id)
        rule.status = ACTIVE  # editing a finished alert re-arms it
        db.session.execute(delete(AlertRuleState).where(AlertRuleState.rule_id == rule.id))
    db.session.commit()
    return rule


def set_paused(user, rule_id: int, paused: bool) -> AlertRule:
    rule = get_rule(user, rule_id)
    if paused:
        if rule.status == ACTIVE:
            rule.status = PAUSED
    else:
        if rule.expires_at is not None and rule.expires_at <= utcnow():
            raise InvalidInput("This alert has expired: edit its expiry date to use it again.")
        if rule.status != ACTIVE:
            _check_active_limit(user, exclude_id=rule.id)
            if rule.status == DONE:
                db.session.execute(delete(AlertRuleState).where(AlertRuleState.rule_id == rule.id))
            rule.status = ACTIVE
    db.session.commit()
    return rule


def delete_rule(user, rule_id: int) -> None:
    rule = get_rule(user, rule_id)
    # explicit, so SQLite (no foreign key enforcement) ends in the same state as PostgreSQL
    db.session.execute(update(AlertEvent).where(AlertEvent.rule_id == rule.id).values(rule_id=None))
    db.session.execute(delete(AlertRuleState).where(AlertRuleState.rule_id == rule.id))
    db.session.delete(rule)
    db.session.commit()
    bump_bell(user.id)


def rule_input_from(rule: AlertRule | AlertTemplate) -> RuleInput:
    return RuleInput(
        name=rule.name, conditions=list(rule.conditions), trigger_mode=rule.trigger_mode,
        cooldown_minutes=rule.cooldown_minutes, notify_email=rule.notify_email, notify_sms=rule.notify_sms,
        notify_webhook=rule.notify_webhook, message=rule.message,
    )


# =========================================================================== templates
def list_templates(user) -> list[AlertTemplate]:
    return list(db.session.scalars(select(AlertTemplate).where(AlertTemplate.owner_id == user.id)
                                   .order_by(AlertTemplate.name)))


def get_template(user, template_id: int) -> AlertTemplate:
    t = db.session.get(AlertTemplate, template_id)
    if t is None or t.owner_id != user.id:
        raise NotFound("No such template.")
    return t


def save_template(user, rule_id: int, name: str) -> AlertTemplate:
    rule = get_rule(user, rule_id)
    name = (name or "").strip()[:80] or rule.name
    if db.session.scalar(select(AlertTemplate.id).where(AlertTemplate.owner_id == user.id,
                                                        AlertTemplate.name == name)):
        raise InvalidInput(f"You already have a template named “{name}”.", field="name")
    lock_owner(user.id)  # count and insert as one step for this owner
    if len(list_templates(user)) >= 100:
        raise LimitReached("You can keep at most 100 alert templates.", upgrade_url=None,
                           usage=f"{len(list_templates(user))} of 100 alert templates used")
    t = AlertTemplate(owner_id=user.id, name=name, conditions=list(rule.conditions),
                      trigger_mode=rule.trigger_mode, cooldown_minutes=rule.cooldown_minutes,
                      notify_email=rule.notify_email, notify_sms=rule.notify_sms,
                      notify_webhook=rule.notify_webhook, message=rule.message)
    db.session.add(t)
    db.session.commit()
    return t


def apply_template(user, template_id: int, *, scope_kind: str = SCOPE_SYMBOL, symbols: str = "",
                   scope_ref_id: Any = None) -> list[AlertRule]:
    """One alert per symbol (a comma/space separated list), or one for a watchlist/screen."""
    t = get_template(user, template_id)
    base = rule_input_from(t)
    base.name = ""
    if scope_kind != SCOPE_SYMBOL:
        data = RuleInput(**{**base.__dict__, "scope_kind": scope_kind, "scope_ref_id": scope_ref_id,
                            "name": t.name})
        return [create_rule(user, data)]
    wanted = [s for s in re.split(r"[\s,;]+", (symbols or "").upper()) if s][:50]
    if not wanted:
        raise InvalidInput("Enter one or more symbols.", field="symbols")
    enforce_limit(user, plan_for(user), "alerts_active",
                  lambda: active_count(user), noun="active alerts", adding=len(wanted),
                  message="Your {plan} plan allows {limit} active alerts; "
                          f"this would add {len(wanted)}. Upgrade for more.")
    known = dict(db.session.execute(select(Stock.symbol, Stock.id).where(Stock.symbol.in_(wanted))).all())
    missing = [s for s in wanted if s not in known]
    if missing:
        raise InvalidInput(f"Unknown symbol{'s' if len(missing) > 1 else ''}: {', '.join(missing[:10])}.",
                           field="symbols")
    created = []
    for sym in dict.fromkeys(wanted):
        data = RuleInput(**{**base.__dict__, "scope_kind": SCOPE_SYMBOL, "symbol": sym,
                            "name": f"{sym} {t.name}"[:80]})
        rule = AlertRule(owner_id=user.id, status=ACTIVE, times_fired=0)
        _apply(user, rule, data)
        db.session.add(rule)
        created.append(rule)
    db.session.commit()
    return created


def delete_template(user, template_id: int) -> None:
    db.session.delete(get_template(user, template_id))
    db.session.commit()


# =========================================================================== events
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


# =========================================================================== settings
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


# =========================================================================== evaluation
@dataclass
class Universe:
    stock_ids: np.ndarray
    symbols: list[str]
    position: dict[int, int]
    price: np.ndarray
    prev_price: np.ndarray
    change_pct: np.ndarray
    rel_volume: np.ndarray
    fresh: np.ndarray
    snapshot_at: dt.datetime | None
    data: Any  # SeriesData, built lazily for formulas
    columns: dict[str, np.ndarray]
    text: dict[str, list]
    sessions: list = field(default_factory=list)  # each snapshot's session date (daily-bar history)


def _arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def load_universe(fresh_since: dt.datetime | None = None) -> Universe:
    snap_cols = ["price", "prev_price", "change_pct", "prev_change_pct", "volume", "prev_volume", "rel_volume",
                 *ONE_BAR_SNAPSHOT]
    cols = [Stock.id, Stock.symbol, Stock.sector, Stock.industry, Stock.exchange, Snapshot.updated_at,
            *[getattr(Snapshot, c) for c in snap_cols], *[getattr(StockIndicator, c) for c in INDICATOR_FIELDS],
            Snapshot.session]
    rows = db.session.execute(
        select(*cols).join(Snapshot, Snapshot.stock_id == Stock.id)
        .outerjoin(StockIndicator, StockIndicator.stock_id == Stock.id)
        .where(Stock.active.is_(True)).order_by(Stock.id)).all()
    n = len(rows)
    colv = list(zip(*rows, strict=True)) if rows else [[] for _ in cols]
    ids = np.array(colv[0], dtype=np.int64)
    updated = colv[5]
    columns = {}
    for i, name in enumerate([*snap_cols, *INDICATOR_FIELDS]):
        columns[name] = _arr(colv[6 + i])
    if fresh_since is not None and n:
        fresh = np.array([u is not None and u >= fresh_since for u in updated], dtype=bool)
    else:
        fresh = np.ones(n, dtype=bool)
    snapshot_at = max((u for u in updated if u is not None), default=None)
    return Universe(
        stock_ids=ids, symbols=list(colv[1]), position={int(s): i for i, s in enumerate(ids)},
        price=columns["price"], prev_price=columns["prev_price"], change_pct=columns["change_pct"],
        rel_volume=columns["rel_volume"], fresh=fresh, snapshot_at=snapshot_at, data=None, columns=columns,
        text={"sector": list(colv[2]), "industry": list(colv[3]), "exchange": list(colv[4])},
        sessions=list(colv[-1]),
    )


def series_data(u: Universe):
    from app.rules import SeriesData

    if u.data is None:
        c = u.columns
        two = lambda prev, cur: np.column_stack([prev, cur])  # noqa: E731
        fields = {
            "close": two(c["prev_price"], c["price"]), "price": two(c["prev_price"], c["price"]),
            "volume": two(c["prev_volume"], c["volume"]),
            "change_pct": two(c["prev_change_pct"], c["change_pct"]),
            "rel_volume": c["rel_volume"], "avg_volume": _avg_volume(c),
            **{k: c[k] for k in ONE_BAR_SNAPSHOT}, **{k: c[k] for k in INDICATOR_FIELDS},
        }
        u.data = SeriesData(fields, text=u.text, symbols=u.symbols)
    return u.data


def _avg_volume(c) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(c["rel_volume"] > 0, c["volume"] / c["rel_volume"], np.nan)


def _condition_mask(u: Universe, c: dict, cache: dict, errors: dict) -> np.ndarray:
    kind = c["kind"]
    key = (kind, c.get("value"), c.get("formula"))
    got = cache.get(key)
    if got is not None:
        return got
    v = c.get("value")
    with np.errstate(invalid="ignore"):
        if kind == PRICE_ABOVE:
            m = u.price > v
        elif kind == PRICE_BELOW:
            m = u.price < v
        elif kind == CROSSES_ABOVE:
            m = (u.prev_price <= v) & (u.price > v)
        elif kind == CROSSES_BELOW:
            m = (u.prev_price >= v) & (u.price < v)
        elif kind == CHANGE_ABOVE:
            m = u.change_pct > v
        elif kind == CHANGE_BELOW:
            m = u.change_pct < v
        elif kind == VOLUME_SPIKE:
            m = u.rel_volume >= v
        else:  # formulas are evaluated in bulk by _formula_masks; screen membership by scopes
            m = np.zeros(len(u.stock_ids), dtype=bool)
    cache[key] = m
    return m


def _history_inputs(u: Universe, previous: bool) -> tuple[dict, dict]:
    """(live OHLCV, stored 1-D fields) of the quote ending the bars: the current one, or the
    previous 1-minute one (``prev_*``; open/high/low of the session so far are the current ones)."""
    c = u.columns
    price = c["prev_price"] if previous else c["price"]
    live = {"open": c["open"], "high": c["high"], "low": c["low"], "close": price,
            "volume": c["prev_volume"] if previous else c["volume"]}
    stored = {"price": price, "change_pct": c["prev_change_pct"] if previous else c["change_pct"],
              "rel_volume": c["rel_volume"], "avg_volume": _avg_volume(c),
              **{k: c[k] for k in ONE_BAR_SNAPSHOT}, **{k: c[k] for k in INDICATOR_FIELDS}}
    return live, stored


def _formula_masks(u: Universe, rules: list[AlertRule], cache: dict, errors: dict) -> None:
    """Every distinct formula compiled once and evaluated together over the universe.

    Formulas answered by the last two 1-minute values are evaluated on (previous, current)
    columns: ``crosses_above(price, 190)`` compares the two quotes. Formulas needing history
    are evaluated on the daily bars ending with the current quote (the builder shared with
    the screener, :func:`app.market.series.build_series`); those containing a cross are also
    evaluated on the bars ending with the previous 1-minute quote and fire only on a
    false -> true transition (once per crossing). Other history formulas keep the usual
    trigger/cooldown logic."""
    from app.market.series import build_series, is_cross
    from app.rules import CROSS_SECTION, RuleError, compile_rule, evaluate_many

    n = len(u.stock_ids)
    texts = sorted({c["formula"] for r in rules for c in r.conditions if c.get("kind") == FORMULA})
    if not texts or not n:
        for t in texts:
            cache[(FORMULA, None, t)] = np.zeros(n, dtype=bool)
        return
    light, history = [], []
    for t in texts:
        try:
            rule = compile_rule(t, expect="condition")
        except RuleError as exc:
            errors[t] = str(exc)
            cache[(FORMULA, None, t)] = np.zeros(n, dtype=bool)
            continue
        (light if _light(rule) else history).append(rule)

    def store(batch, results, prev_results=None):
        for i, (rule, res) in enumerate(zip(batch, results, strict=True)):
            if prev_results is not None and not isinstance(res, RuleError):
                prev = prev_results[i]
                if isinstance(prev, RuleError):
                    res = prev
                else:
                    with np.errstate(invalid="ignore"):
                        res = np.asarray(res, dtype=bool) & ~np.asarray(prev, dtype=bool) \
                            & np.isfinite(u.prev_price)
            if isinstance(res, RuleError):
                errors[rule.text] = str(res)
                res = np.zeros(n, dtype=bool)
            cache[(FORMULA, None, rule.text)] = np.asarray(res, dtype=bool)

    if light:
        store(light, evaluate_many(light, series_data(u), CROSS_SECTION, time_limit=5.0))
    if history:
        ids, sessions = u.stock_ids, u.sessions or [None] * n
        try:
            live, stored = _history_inputs(u, previous=False)
            current = build_series(history, ids, sessions, live, stored, text=u.text, symbols=u.symbols)
            crosses = [r for r in history if is_cross(r)]
            plain = [r for r in history if not is_cross(r)]
            if plain:
                store(plain, evaluate_many(plain, current, CROSS_SECTION, time_limit=5.0))
            if crosses:
                live, stored = _history_inputs(u, previous=True)  # same rules: same width
                before = build_series(history, ids, sessions, live, stored, text=u.text, symbols=u.symbols)
                store(crosses, evaluate_many(crosses, current, CROSS_SECTION, time_limit=5.0),
                      evaluate_many(crosses, before, CROSS_SECTION, time_limit=5.0))
        except Exception as exc:  # a broken history load must not stop the other alerts
            log.exception("alert history formulas failed")
            for rule in history:
                errors[rule.text] = f"history unavailable: {exc}"
                cache[(FORMULA, None, rule.text)] = np.zeros(n, dtype=bool)


def expire_rules(now: dt.datetime) -> int:
    n = db.session.execute(update(AlertRule).where(AlertRule.status == ACTIVE, AlertRule.expires_at.is_not(None),
                                                   AlertRule.expires_at <= now)
                           .values(status=EXPIRED)).rowcount
    db.session.commit()
    return n


@dataclass
class CycleResult:
    rules: int = 0
    candidates: int = 0
    fired: int = 0
    deliveries: int = 0
    expired: int = 0
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    latency_ms: float | None = None


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


def evaluate_cycle(*, run_id: int | None = None, version: int | None = None, now: dt.datetime | None = None,
                   enqueue_deliveries: bool = True) -> CycleResult:
    """Evaluate every active alert rule on the current snapshots (one cycle)."""
    from app.models.market import ScanRun

    t0 = time.perf_counter()
    now = now or utcnow()
    res = CycleResult()
    res.expired = expire_rules(now)
    fresh_since = None
    if run_id is not None:
        run = db.session.get(ScanRun, run_id)
        fresh_since = run.started_at if run else None
    rules = list(db.session.scalars(select(AlertRule).where(AlertRule.status == ACTIVE).order_by(AlertRule.id)))
    res.rules = len(rules)
    if not rules:
        res.seconds = time.perf_counter() - t0
        return res
    u = load_universe(fresh_since)
    res.timings["load"] = time.perf_counter() - t0
    n = len(u.stock_ids)
    cache: dict = {}
    _formula_masks(u, rules, cache, res.errors)
    res.timings["formulas"] = time.perf_counter() - t0
    from app.alerts import scopes

    members = scopes.resolve(u, rules)
    all_idx = np.arange(n)
    candidates: list[tuple[int, int, int | None]] = []
    change_candidates: list[tuple[int, int, int | None, dt.datetime]] = []
    hit_pos: dict[tuple[int, int], int] = {}
    for rule in rules:
        conds = rule.conditions or []
        if not conds:
            continue
        if rule.scope_kind == SCOPE_SYMBOL:
            p = u.position.get(rule.stock_id)
            if p is None or not u.fresh[p]:
                continue
            ok = True
            for c in conds:
                if not _condition_mask(u, c, cache, res.errors)[p]:
                    ok = False
                    break
            if not ok:
                continue
            idx = (p,)
        else:
            if conds[0]["kind"] in (SCREEN_ENTER, SCREEN_EXIT):
                cd = None if rule.trigger_mode == ONCE else rule.cooldown_minutes
                for p, event_at in members.get((rule.id, conds[0]["kind"]), ()):
                    sid = int(u.stock_ids[p])
                    change_candidates.append((rule.id, sid, cd, event_at))
                    hit_pos[(rule.id, sid)] = p
                continue
            else:
                idx = all_idx if rule.scope_kind == SCOPE_UNIVERSE else members.get(rule.id, ())
                if len(idx) == 0:
                    continue
                idx = np.asarray(idx, dtype=np.int64)
                key = tuple((c["kind"], c.get("value"), c.get("formula")) for c in conds)
                mask = cache.get(key)
                if mask is None:
                    mask = _condition_mask(u, conds[0], cache, res.errors)
                    for c in conds[1:]:
                        mask = mask & _condition_mask(u, c, cache, res.errors)
                    mask = mask & u.fresh
                    cache[key] = mask
                idx = idx[mask[idx]]
        cd = None if rule.trigger_mode == ONCE else rule.cooldown_minutes
        for p in idx:
            p = int(p)
            sid = int(u.stock_ids[p])
            candidates.append((rule.id, sid, cd))
            hit_pos[(rule.id, sid)] = p
    res.candidates = len(candidates) + len(change_candidates)
    res.timings["evaluate"] = time.perf_counter() - t0
    if not res.candidates:
        res.seconds = time.perf_counter() - t0
        return res

    rules_by_id = {r.id: r for r in rules}
    won = claim(candidates, now) | claim_changes(change_candidates, now)
    res.timings["claim"] = time.perf_counter() - t0
    if not won:
        db.session.rollback()
        res.seconds = time.perf_counter() - t0
        return res
    event_rows = []
    fired_at = utcnow()
    for rule_id, sid in sorted(won):
        rule = rules_by_id[rule_id]
        p = hit_pos[(rule_id, sid)]
        sym = u.symbols[p]
        price, prev, chg, rv = (_f(u.price[p]), _f(u.prev_price[p]), _f(u.change_pct[p]), _f(u.rel_volume[p]))
        words = rule_words(rule.conditions)
        fired = " and ".join(_fired_words(c, price, prev, chg, rv) for c in rule.conditions)
        event_rows.append({
            "rule_id": rule_id, "owner_id": rule.owner_id, "stock_id": sid, "symbol": sym,
            "rule_name": rule.name[:80], "description": f"{sym} {fired}"[:300],
            "message": render_message(rule.message or DEFAULT_MESSAGE, symbol=sym, price=price, change_pct=chg,
                                      rule=rule.name, when=fired_at),
            "price": price, "prev_price": prev, "change_pct": chg, "rel_volume": rv,
            "values": {"conditions": rule.conditions, "words": words},
            "snapshot_version": version, "quote_as_of": None, "snapshot_at": u.snapshot_at,
            "fired_at": fired_at,
            "latency_ms": ((fired_at - u.snapshot_at).total_seconds() * 1000 if u.snapshot_at else None),
        })
    inserted = db.session.execute(
        insert(AlertEvent).returning(AlertEvent.id, AlertEvent.rule_id, AlertEvent.owner_id,
                                     sort_by_parameter_order=True), event_rows).all()
    res.fired = len(inserted)
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
    owners = {o for _, _, o in inserted}
    plan = _delivery_plan(rules_by_id, owners, now)
    delivery_rows = []
    for eid, rid, owner in inserted:
        rule = rules_by_id[rid]
        for ch in rule.channels:
            reason = plan[owner][ch]
            if reason is None and plan[owner]["quiet"]:
                reason = "quiet hours"
            delivery_rows.append({"event_id": eid, "owner_id": owner, "channel": ch,
                                  "status": D_QUEUED if reason is None else D_SKIPPED, "reason": reason,
                                  "attempts": 0, "created_at": fired_at, "updated_at": fired_at})
    queued_ids: list[int] = []
    if delivery_rows:
        got = db.session.execute(insert(AlertDelivery).returning(AlertDelivery.id, AlertDelivery.status,
                                                                 sort_by_parameter_order=True),
                                 delivery_rows).all()
        queued_ids = [i for i, st in got if st == D_QUEUED]
    res.deliveries = len(queued_ids)
    db.session.commit()
    res.timings["write"] = time.perf_counter() - t0
    visible = utcnow()
    if u.snapshot_at:
        res.latency_ms = (visible - u.snapshot_at).total_seconds() * 1000
    try:
        pipe = get_redis().pipeline()
        for o in owners:
            bump_bell(o, pipe)
        pipe.execute()
    except Exception:
        log.warning("could not bump alert bell versions")
    if enqueue_deliveries and queued_ids:
        enqueue_deliveries_jobs(queued_ids)
    res.timings["enqueue"] = time.perf_counter() - t0
    res.seconds = time.perf_counter() - t0
    if res.errors:
        log.warning("alert formulas failed this cycle: %s", res.errors)
    return res


def _f(v) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


def enqueue_deliveries_jobs(ids: list[int]) -> None:
    from rq import Queue

    from app.alerts import tasks
    from app.jobs import get_queue

    q = get_queue("default")
    if not q.is_async:
        for i in ids:
            q.enqueue(tasks.deliver, i)
        return
    pipe = q.connection.pipeline()
    jobs = [Queue.prepare_data(tasks.deliver, (i,), result_ttl=300, failure_ttl=86400) for i in ids]
    for k in range(0, len(jobs), 1000):
        q.enqueue_many(jobs[k:k + 1000], pipeline=pipe)
        pipe.execute()


# =========================================================================== deliveries
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
    from app.alerts.channels import DeliveryError, send_email, send_sms, send_webhook

    d = _claim_delivery(delivery_id)
    if d is None:
        return "skipped"
    ev = d.event
    user = db.session.get(User, d.owner_id)
    s = get_settings(user)
    now = utcnow()
    max_attempts = current_app.config["ALERTS_DELIVERY_MAX_ATTEMPTS"]
    try:
        if d.channel == EMAIL:
            if not user.email_confirmed:
                raise DeliveryError("the email address is not confirmed yet", retry=False)
            provider_id = send_email(user.email, f"Alert: {ev.symbol} — {ev.rule_name}",
                                     f"{ev.message}\n\n{ev.description}\n\n"
                                     f"See your alerts: {current_app.config['BASE_URL']}/alerts/triggered\n")
        elif d.channel == SMS:
            if not s.phone_verified:
                raise DeliveryError("no verified phone number", retry=False)
            reason = _sms_quota(user, now)
            if reason:
                raise DeliveryError(reason, retry=False)
            provider_id = send_sms(s.phone, ev.message)
        elif d.channel == WEBHOOK:
            if not s.webhook_url or not s.webhook_secret:
                raise DeliveryError("no webhook URL set", retry=False)
            limit = current_app.config["ALERTS_WEBHOOKS_PER_MINUTE"]
            if not _rate(f"alerts:webhook-min:{user.id}", limit, 60):
                raise DeliveryError(f"rate limit: more than {limit} webhooks a minute", retry=False)
            provider_id = send_webhook(s.webhook_url, s.webhook_secret, webhook_payload(ev), f"evt_{ev.id}")
        else:
            raise DeliveryError(f"unknown channel {d.channel}", retry=False)
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
    d.provider_id = (provider_id or "")[:100] or None
    db.session.commit()
    return d.status


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
