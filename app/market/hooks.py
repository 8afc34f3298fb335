"""Extension points of the scanners: other domains connect receivers here.

Each hook is a ``blinker`` signal. Receivers are connected at import time of the
connecting module (which ``create_app`` imports with its blueprint), e.g. in alerts::

    from app.jobs import enqueue
    from app.market.hooks import after_quotes_cycle

    @after_quotes_cycle.connect
    def evaluate_alerts(sender, **info):
        enqueue("scans", "app.alerts.tasks.evaluate", info.get("run_id"), info.get("version"))

The flow is scanner -> hooks -> domain jobs: ``app.market.services.finalize`` commits the
ScanRun and releases the cycle lock BEFORE it emits, and a receiver only enqueues its
domain's job (by dotted path, through :func:`app.jobs.enqueue`); the job calls the domain's
services in a transaction of its own. Latency-critical work (alert evaluation, order
checks after the quotes cycle) goes on ``scans``, the rest on ``default``.

:func:`emit` calls every receiver with ``sender`` (the scan kind) and keyword
arguments ``run_id``, ``version`` (the snapshot version after the cycle, 1m only), ``as_of``
(when the run finished), ``session`` (the daily session, 1d only) -- and isolates failures:
a receiver that raises is logged and reported, the others still run.
"""
from __future__ import annotations

import logging

from blinker import Namespace

log = logging.getLogger(__name__)
signals = Namespace()

#: after every 1-minute quotes cycle (snapshots written, version bumped)
after_quotes_cycle = signals.signal("after-quotes-cycle")
#: after every 10-minute intraday cycle
after_intraday_cycle = signals.signal("after-intraday-cycle")
#: after the daily cycle (daily bars and all indicators written)
after_daily_cycle = signals.signal("after-daily-cycle")

BY_KIND = {"1m": after_quotes_cycle, "10m": after_intraday_cycle, "1d": after_daily_cycle}


def emit(signal, sender: str, **info) -> list[str]:
    """Call every receiver; returns the error messages of those that failed."""
    errors = []
    for receiver in list(signal.receivers_for(sender)):
        try:
            receiver(sender, **info)
        except Exception as exc:  # one broken plug-in must not break the scanner
            name = getattr(receiver, "__qualname__", repr(receiver))
            log.exception("hook %s receiver %s failed", signal.name, name)
            errors.append(f"{signal.name} receiver {name} failed: {exc}")
    return errors
