"""After the daily cycle: enqueue the forward tracking of every strategy (orders for the next
open through the paper ledger) and the leaderboard rebuild -- one job,
:func:`app.strategies.tasks.track_and_rank`, run after the day's bars and indicators are
committed (the receiver only enqueues it; app/market/hooks.py)."""
from __future__ import annotations

from app.jobs import enqueue
from app.market.hooks import after_daily_cycle


@after_daily_cycle.connect
def forward_track(sender, **info) -> None:
    session = info.get("session")
    enqueue("default", "app.strategies.tasks.track_and_rank", session.isoformat() if session else None,
            job_timeout=3600, result_ttl=600, failure_ttl=86400)
