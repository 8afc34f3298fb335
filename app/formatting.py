"""Numbers, money, times and durations the way traders read them -- the one formatter.

Every Jinja filter of the site is registered here (:func:`register_filters`, called by
``create_app``), and Python code that writes numbers for people (alert messages, e-mails)
uses the same functions:

==========  ==============================================================================
filter      output
==========  ==============================================================================
price       2 decimals, 4 under $1: ``1,234.50`` / ``0.1234``
money       ``$1,234.50`` / ``−$10.00`` (a real minus sign)
pnl         signed money with colour and an arrow: ``▲ +$62.56`` / ``▼ −$10.00``
change      a signed, coloured change with an arrow: ``▲ +1.25%`` (``change("R", 2)``)
abbrev      ``1.2B`` / ``350M`` / ``12.5K`` with the exact value on hover
num         a plain number with thousands separators and ``decimals`` (default 2)
count       a whole number with thousands separators: ``12,345``
percent     a fraction shown in percent: ``0.1234`` -> ``12.3 %``
et          a UTC datetime in market time: ``Nov 27, 2026 14:31 ET``
ago         ``45s ago`` / ``12 min ago`` / ``3 h ago`` / ``4 d ago``
duration    a holding time in seconds: ``45s`` / ``12m`` / ``3h 5m`` / ``4d 2h``
ticks       rule-language messages: escaped, with `quoted` parts as ``<code>``
==========  ==============================================================================

Unknown values (None, NaN) render as an em dash, never "None" or "nan".
"""
from __future__ import annotations

import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask
from markupsafe import Markup, escape

ET = ZoneInfo("America/New_York")
DASH = "—"


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def fmt_price(value) -> str:
    if _missing(value):
        return DASH
    v = float(value)
    return f"{v:,.4f}" if abs(v) < 1 else f"{v:,.2f}"


def fmt_money(value) -> str:
    if _missing(value):
        return DASH
    v = float(value)
    sign = "−" if v < 0 else ""
    return f"{sign}${abs(v):,.2f}"


def fmt_num(value, decimals: int = 2) -> str:
    if _missing(value):
        return DASH
    return f"{float(value):,.{int(decimals)}f}"


def fmt_count(value) -> str:
    if _missing(value):
        return DASH
    return f"{int(value):,}"


def fmt_percent(fraction, decimals: int = 1) -> str:
    if _missing(fraction):
        return DASH
    return f"{float(fraction) * 100:,.{int(decimals)}f} %"


def fmt_change(value, suffix: str = "%", decimals: int = 2) -> Markup:
    """A signed, coloured change with an arrow, so colour is never the only cue."""
    if _missing(value):
        return Markup(f'<span class="num muted">{DASH}</span>')
    v = float(value)
    if v > 0:
        cls, arrow, sign = "up", "▲", "+"
    elif v < 0:
        cls, arrow, sign = "down", "▼", "−"
    else:
        cls, arrow, sign = "flat", "", ""
    text = f"{sign}{abs(v):,.{decimals}f}{suffix}"
    return Markup(f'<span class="num {cls}">{arrow} {escape(text)}</span>' if arrow else
                  f'<span class="num {cls}">{escape(text)}</span>')


def fmt_pnl(value) -> Markup:
    """Signed money with colour and an arrow: ▲ +$62.56 / ▼ −$10.00."""
    if _missing(value):
        return Markup(f'<span class="num muted">{DASH}</span>')
    v = float(value)
    cls, arrow, sign = ("up", "▲ ", "+") if v > 0 else (("down", "▼ ", "−") if v < 0 else ("flat", "", ""))
    return Markup(f'<span class="num {cls}">{arrow}{escape(f"{sign}${abs(v):,.2f}")}</span>')


def fmt_abbrev(value) -> Markup:
    """1.2B / 350M / 12.5K with the exact value on hover."""
    if _missing(value):
        return Markup(f'<span class="muted">{DASH}</span>')
    v = float(value)
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= threshold:
            short = f"{v / threshold:,.1f}{suffix}"
            break
    else:
        short = f"{v:,.0f}"
    exact = f"{int(v):,}" if float(v).is_integer() else f"{v:,.2f}"
    return Markup(f'<span class="num" title="{escape(exact)}">{escape(short)}</span>')


def fmt_et(value: datetime | None, fmt: str = "%b %d, %Y %H:%M ET") -> str:
    if value is None:
        return DASH
    return value.astimezone(ET).strftime(fmt)


def fmt_ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    from app.database import utcnow

    seconds = int((utcnow() - value).total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)}s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def fmt_duration(seconds) -> str:
    """Holding time: 45s, 12m, 3h 5m, 4d 2h."""
    if _missing(seconds):
        return DASH
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def fmt_ticks(text: str) -> Markup:
    """Escape ``text`` and show `quoted` parts of rule messages as code."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


FILTERS = {
    "price": fmt_price, "money": fmt_money, "pnl": fmt_pnl, "change": fmt_change, "abbrev": fmt_abbrev,
    "num": fmt_num, "count": fmt_count, "percent": fmt_percent, "et": fmt_et, "ago": fmt_ago,
    "duration": fmt_duration, "ticks": fmt_ticks,
}


def register_filters(app: Flask) -> None:
    """Every Jinja filter of the site, in one place."""
    app.jinja_env.filters.update(FILTERS)
