"""After every 1-minute quotes cycle: evaluate the alert rules in a job on ``scans``."""
from __future__ import annotations

from app.market.hooks import after_quotes_cycle


@after_quotes_cycle.connect
def evaluate_alerts(sender, **info) -> None:
    from app.alerts import tasks
    from app.jobs import get_queue

    # The snapshots this job reads were committed by the cycle's chunk jobs; the open
    # transaction here only holds the ScanRun's own bookkeeping, so the job may be enqueued
    # before finalize() commits (app.jobs.enqueue's guard is about rows a job reads).
    get_queue("scans").enqueue(tasks.evaluate, info.get("run_id"), info.get("version"),
                               job_timeout=120, result_ttl=600, failure_ttl=86400)
