"""After every 1-minute quotes cycle: evaluate the alert rules in a job on ``scans``.
After every daily cycle: warm the daily-bar cache formulas with history read, in the worker
(memory + ``BAR_CACHE_DIR`` file, which the forked work horses of later alert jobs load), so
the first alert cycle after it is not slow. Web processes load the cache lazily (first
formula screen needing history)."""
from __future__ import annotations

import logging

from app.market.hooks import after_daily_cycle, after_quotes_cycle

log = logging.getLogger(__name__)


@after_quotes_cycle.connect
def evaluate_alerts(sender, **info) -> None:
    from app.alerts import tasks
    from app.jobs import get_queue

    # The snapshots this job reads were committed by the cycle's chunk jobs; the open
    # transaction here only holds the ScanRun's own bookkeeping, so the job may be enqueued
    # before finalize() commits (app.jobs.enqueue's guard is about rows a job reads).
    get_queue("scans").enqueue(tasks.evaluate, info.get("run_id"), info.get("version"),
                               job_timeout=120, result_ttl=600, failure_ttl=86400)


@after_daily_cycle.connect
def warm_daily_bars(sender, **info) -> None:
    from app.market.series import warm_bar_cache

    try:
        warm_bar_cache()
    except Exception:  # a warm-up is an optimisation: the first evaluation loads lazily
        log.warning("could not warm the daily-bar cache", exc_info=True)
