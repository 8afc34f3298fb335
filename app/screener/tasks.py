"""Screener jobs enqueued by the scanner hooks (app/screener/hooks.py): plain values in,
services called."""
from __future__ import annotations

import datetime as dt
import logging

from app.jobs import task
from app.screener import services

log = logging.getLogger(__name__)


@task
def record_memberships(as_of_iso: str | None = None, daily: bool = False) -> dict[int, dict]:
    """Record who entered / left every saved screen; returns the screens that changed.
    After the daily cycle the process's daily-bar matrices are stale: forget them first."""
    if daily:
        from app.market.series import clear_bar_cache

        clear_bar_cache()
    changes = services.update_memberships(now=dt.datetime.fromisoformat(as_of_iso) if as_of_iso else None)
    changed = {sid: c for sid, c in changes.items() if c["entered"] or c["left"]}
    if changed:
        log.info("saved-screen membership: %d screens changed", len(changed))
    return changed
