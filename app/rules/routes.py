"""Formula lab, live validation (HTMX) and the help listing of fields and functions.

GET only and no state change, so no CSRF token is needed; every answer is a verdict or a
help page -- never a 500, whatever the text typed.
"""

from __future__ import annotations

import logging
import re

from flask import request
from flask_login import login_required

from app.htmx import render_view
from app.rules import bp
from app.rules.compiler import check
from app.rules.fields import FIELD_LIST
from app.rules.functions import CATEGORIES, FUNCTION_LIST, OPERATORS
from app.rules.syntax import MAX_TEXT_LENGTH

log = logging.getLogger(__name__)

KINDS = {"condition": "condition", "number": "number", "any": None, "": None}
EXAMPLES = (
    "close > sma(close, 50) and rsi(14) < 30",
    "crosses_above(sma(close, 50), sma(close, 200))",
    "volume > 3 * avg(volume, 20) and change_pct > 4",
    "(close - lowest(low, 252)) / (highest(high, 252) - lowest(low, 252)) > 0.9",
    'sector == "Information Technology" and market_cap > 10e9',
    "(close - sma(close, 20)) / atr(20)",
)


def _verdict(expr: str, kind: str) -> dict:
    """The verdict for ``expr`` (never raises)."""
    if not expr.strip():
        return {"empty": True}
    try:
        verdict = check(expr, KINDS[kind])
    except Exception:  # belt and braces: check() already turns everything into a verdict
        log.exception("rule check failed for %r", expr)
        verdict = {"ok": False, "message": "the formula could not be checked", "position": None}
    verdict["empty"] = False
    pos = verdict.get("position")
    if not verdict["ok"] and pos is not None:
        pos = min(pos, len(expr))
        verdict["before"], verdict["at"], verdict["after"] = (
            expr[:pos],
            expr[pos : pos + 1] or " ",
            expr[pos + 1 :],
        )
    return verdict


_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def _args() -> tuple[str, str]:
    # `field` names the parameter holding the text, so any form's rule input can validate
    # itself (see templates/rules/_macros.html); default `expr`.
    field = request.args.get("field", "expr")
    expr = request.args.get(field if _ID.match(field) else "expr", "")[: MAX_TEXT_LENGTH + 1]
    kind = request.args.get("kind", "condition")
    if kind not in KINDS:
        kind = "condition"
    return expr, kind


def _verdict_id() -> str:
    """The element the verdict replaces: HTMX names it in HX-Target."""
    target = request.headers.get("HX-Target", "")
    return target if _ID.match(target) else "rule-verdict"


@bp.get("")
@login_required
def lab():
    expr, kind = _args()
    return render_view(
        "rules/lab.html",
        expr=expr,
        kind=kind,
        verdict=_verdict(expr, kind),
        examples=EXAMPLES,
        max_length=MAX_TEXT_LENGTH,
    )


@bp.get("/check")
@login_required
def check_view():
    """The verdict fragment (HTMX) or, without HTMX, the lab page showing the verdict."""
    expr, kind = _args()
    verdict = _verdict(expr, kind)
    status = 422 if not verdict["empty"] and not verdict["ok"] else 200
    return render_view(
        "rules/lab.html",
        "rules/_verdict.html",
        status=status,
        verdict_id=_verdict_id(),
        expr=expr,
        kind=kind,
        verdict=verdict,
        examples=EXAMPLES,
        max_length=MAX_TEXT_LENGTH,
    )


@bp.get("/help")
@login_required
def help_view():
    """Fields, operators and functions with examples: a page, or the partial for HTMX."""
    by_category = {c: [f for f in FUNCTION_LIST if f.category == c] for c in CATEGORIES}
    return render_view(
        "rules/help.html",
        "rules/_help.html",
        fields=FIELD_LIST,
        functions_by_category=by_category,
        operators=OPERATORS,
    )
