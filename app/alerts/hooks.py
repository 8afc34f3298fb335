"""The alerts engine on the scanner hooks. Receivers only enqueue jobs (app/market/hooks.py):

- after every 1-minute quotes cycle: evaluate the alert rules (queue ``scans``);
- after every daily cycle: warm the daily-bar cache that formulas with history read (queue
  ``default``). The warm-up writes the ``BAR_CACHE_DIR`` file, which the forked work horses
  of later alert jobs load, so the first alert cycle after it is not slow. Web processes
  load the cache lazily (first formula screen needing history).
"""
from __future__ import annotations

from app.jobs import enqueue
from app.market.hooks import after_daily_cycle, after_quotes_cycle


@after_quotes_cycle.connect
def evaluate_alerts(sender, **info) -> None:
    enqueue("scans", "app.alerts.tasks.evaluate", info.get("run_id"), info.get("version"),
            job_timeout=120, result_ttl=600, failure_ttl=86400)


@after_daily_cycle.connect
def warm_daily_bars(sender, **info) -> None:
    enqueue("default", "app.alerts.tasks.warm_daily_bars", result_ttl=600, failure_ttl=86400)
