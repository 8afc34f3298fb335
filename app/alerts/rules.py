"""Alert rules and templates: validation of conditions and formulas, owner-scoped CRUD,
plan limits (active alerts, channels, whole-market scope), templates applied to symbols."""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update

from app.alerts.events import bump_bell
from app.alerts.settings import get_settings
from app.alerts.words import rule_words
from app.billing.plans import enforce_limit, lock_owner, plan_for
from app.database import utcnow
from app.errors import InvalidInput, LimitReached, NotFound, parse_id
from app.extensions import db
from app.models import Stock
from app.models.alerts import (
    ACTIVE,
    CHANGE_ABOVE,
    CHANGE_BELOW,
    CONDITION_KINDS,
    COOLDOWN,
    DEFAULT_COOLDOWN,
    DEFAULT_MESSAGE,
    DONE,
    EXPIRED,
    FORMULA,
    ONCE,
    PAUSED,
    SCOPE_SCREEN,
    SCOPE_SYMBOL,
    SCOPE_UNIVERSE,
    SCOPE_WATCHLIST,
    SCOPES,
    SCREEN_ENTER,
    SCREEN_EXIT,
    THRESHOLD_KINDS,
    VOLUME_SPIKE,
    AlertEvent,
    AlertRule,
    AlertRuleState,
    AlertTemplate,
)
from app.web import ET

MAX_COOLDOWN = 7 * 24 * 60
# fields alerts see with the previous cycle's value too ((prev, current) -> "crosses" works)
TWO_BAR_FIELDS = ("close", "price", "volume", "change_pct")
ONE_BAR_SNAPSHOT = ("open", "high", "low", "gap_pct", "market_cap", "week52_high", "week52_low")
HISTORY_BAR_FIELDS = ("open", "high", "low", "close", "volume")
INDICATOR_FIELDS = ("rsi14", "sma20", "sma50", "sma200", "ema12", "ema26", "atr14", "macd", "macd_signal",
                    "macd_hist", "bb_upper", "bb_lower")


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


# --------------------------------------------------------------------------- templates
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
