"""The screener on the scanner hooks: saved-screen membership is recorded after every
10-minute cycle and after the daily cycle (whose indicators change what screens select).
The receivers only enqueue :func:`app.screener.tasks.record_memberships` (queue
``default``); the alerts engine reads the recorded ScreenMembership rows for its
"entered / left the screen" conditions (app/alerts/scopes.py)."""
from __future__ import annotations

from app.jobs import enqueue
from app.market.hooks import after_daily_cycle, after_intraday_cycle


def _enqueue(as_of, daily: bool) -> None:
    enqueue("default", "app.screener.tasks.record_memberships", as_of.isoformat() if as_of else None, daily,
            job_timeout=600, result_ttl=600, failure_ttl=86400)


@after_intraday_cycle.connect
def track_memberships(sender, **info) -> None:
    _enqueue(info.get("as_of"), daily=False)


@after_daily_cycle.connect
def track_memberships_daily(sender, **info) -> None:
    _enqueue(info.get("as_of"), daily=True)
