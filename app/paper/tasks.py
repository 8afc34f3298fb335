"""Paper-trading jobs enqueued by the scanner hooks (app/paper/hooks.py). They take plain
values (ids, ISO timestamps) and call the ledger services."""
from __future__ import annotations

import datetime as dt
import logging

from app.jobs import task
from app.paper import services

log = logging.getLogger(__name__)


def _when(iso: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(iso) if iso else None


@task
def process_open_orders(stock_ids: list[int] | None = None, as_of_iso: str | None = None) -> dict:
    stats = services.process_open_orders(stock_ids=stock_ids, as_of=_when(as_of_iso))
    if stats.get("filled") or stats.get("rejected"):
        log.info("paper order check: %s", {k: v for k, v in stats.items() if k != "reasons"})
    return stats


@task
def snapshot_equity(session_iso: str, as_of_iso: str | None = None) -> int:
    return services.snapshot_equity(dt.date.fromisoformat(session_iso), now=_when(as_of_iso))
