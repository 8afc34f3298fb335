"""The words of alerts: condition and scope labels, number formats, what a rule watches and
what made it fire, and the message template with its five placeholders."""
from __future__ import annotations

import datetime as dt
import math
import re

from app.models.alerts import (
    CHANGE_ABOVE,
    CHANGE_BELOW,
    CROSSES_ABOVE,
    CROSSES_BELOW,
    FORMULA,
    PRICE_ABOVE,
    PRICE_BELOW,
    SCOPE_SCREEN,
    SCOPE_SYMBOL,
    SCOPE_UNIVERSE,
    SCOPE_WATCHLIST,
    SCREEN_ENTER,
    SCREEN_EXIT,
    VOLUME_SPIKE,
)
from app.web import ET

CONDITION_LABELS = {
    PRICE_ABOVE: "Price above", PRICE_BELOW: "Price below",
    CROSSES_ABOVE: "Price crosses above", CROSSES_BELOW: "Price crosses below",
    CHANGE_ABOVE: "Change % above", CHANGE_BELOW: "Change % below",
    VOLUME_SPIKE: "Volume spike (relative volume ≥)", FORMULA: "Formula (rule language)",
    SCREEN_ENTER: "Enters a saved screen", SCREEN_EXIT: "Leaves a saved screen",
}
SCOPE_LABELS = {SCOPE_SYMBOL: "One symbol", SCOPE_WATCHLIST: "A watchlist", SCOPE_SCREEN: "A saved screen",
                SCOPE_UNIVERSE: "Whole market"}
PLACEHOLDER = re.compile(r"\{(symbol|price|change_pct|rule|time)\}")



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
