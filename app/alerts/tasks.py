"""Alert jobs: the per-cycle evaluation (queue ``scans``), one job per delivery, the retry
sweep and the daily-bar warm-up (queue ``default``). They take ids/plain values and call
services; they are enqueued by dotted path (``"app.alerts.tasks.deliver"``)."""
from __future__ import annotations

import logging

from app.alerts import services
from app.jobs import task

log = logging.getLogger(__name__)


@task
def evaluate(run_id: int | None = None, version: int | None = None) -> dict:
    res = services.evaluate_cycle(run_id=run_id, version=version)
    services.retry_due()
    if res.fired:
        log.info("alerts: %s rules, %s fired, %s deliveries in %.3fs (latency %.0f ms)", res.rules, res.fired,
                 res.deliveries, res.seconds, res.latency_ms or 0)
    return {"rules": res.rules, "fired": res.fired, "deliveries": res.deliveries, "seconds": res.seconds,
            "latency_ms": res.latency_ms}


@task
def deliver(delivery_id: int) -> str:
    return services.deliver(delivery_id)


@task
def retry_deliveries() -> int:
    return services.retry_due()


@task
def warm_daily_bars() -> int:
    """After the daily cycle: load the daily-bar matrices (memory + file). A warm-up is an
    optimisation: when it fails the first evaluation loads lazily."""
    from app.market.series import warm_bar_cache

    try:
        return len(warm_bar_cache()["ids"])
    except Exception:
        log.warning("could not warm the daily-bar cache", exc_info=True)
        return 0
