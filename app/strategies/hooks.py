"""After the daily cycle: forward-track every strategy (orders for the next open through the
paper ledger), then rebuild the leaderboard. Runs in the scanner's finalising job, after
the day's bars and indicators are written; the market hooks isolate failures."""
from __future__ import annotations

import logging

from app.market.hooks import after_daily_cycle

log = logging.getLogger(__name__)


@after_daily_cycle.connect
def forward_track(sender, **info) -> None:
    from app.strategies.queries import rebuild_leaderboard
    from app.strategies.tracking import track_all

    stats = track_all(until=info.get("session"))
    board = rebuild_leaderboard()
    log.info("strategies after the daily cycle: %s, leaderboard %s", stats, board)
