"""Receivers on the scanner hooks: the order check after every 1-minute quotes cycle and
the equity snapshot after the daily cycle (app/market/hooks.py isolates failures)."""
from __future__ import annotations

import logging

from app.market.hooks import after_daily_cycle, after_quotes_cycle

log = logging.getLogger(__name__)


@after_quotes_cycle.connect
def check_open_orders(sender, **info) -> None:
    from app.paper import services

    stats = services.process_open_orders(stock_ids=info.get("stock_ids"), as_of=info.get("as_of"))
    if stats.get("filled") or stats.get("rejected"):
        log.info("paper order check: %s", {k: v for k, v in stats.items() if k != "reasons"})


@after_daily_cycle.connect
def snapshot_equity(sender, **info) -> None:
    from app.paper import services

    session = info.get("session")
    if session is not None:
        services.snapshot_equity(session, now=info.get("as_of"))
