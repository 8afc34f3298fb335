"""Receivers on the scanner hooks: they only enqueue the paper jobs (app/paper/tasks.py),
which call the ledger: the order check after every 1-minute quotes cycle (queue ``scans``:
fills follow the quotes) and the equity snapshot after the daily cycle (``default``)."""
from __future__ import annotations

from app.jobs import enqueue
from app.market.hooks import after_daily_cycle, after_quotes_cycle


@after_quotes_cycle.connect
def check_open_orders(sender, **info) -> None:
    as_of = info.get("as_of")
    enqueue("scans", "app.paper.tasks.process_open_orders", info.get("stock_ids"),
            as_of.isoformat() if as_of else None, job_timeout=120, result_ttl=600, failure_ttl=86400)


@after_daily_cycle.connect
def snapshot_equity(sender, **info) -> None:
    session, as_of = info.get("session"), info.get("as_of")
    if session is not None:
        enqueue("default", "app.paper.tasks.snapshot_equity", session.isoformat(),
                as_of.isoformat() if as_of else None, result_ttl=600, failure_ttl=86400)
