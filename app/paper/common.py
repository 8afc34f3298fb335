"""Shared pieces of the ledger: money constants and rounding, the market clock and the
session a day order is good for, amount parsing, and the account lock every ledger write
takes first. Nothing here writes ledger rows except :func:`lock_accounts` (a no-op
``UPDATE`` on SQLite that takes the write lock)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from app.errors import MAX_ID as ERRORS_MAX_ID
from app.errors import InvalidInput, NotFound, parse_id
from app.extensions import db
from app.market import calendar as mcal
from app.models.paper import PaperAccount

Q4 = Decimal("0.0001")
ZERO = Decimal("0")
DEFAULT_BALANCE = Decimal("100000")
MAX_BALANCE = Decimal("100000000")
SHORT_MARGIN = Decimal("0.5")  # initial margin on a short sale
SHORT_MAINTENANCE = Decimal("1.5")  # buying power is cash minus 150 % of short value
BUY_SIDES = ("buy", "cover")


def q4(value: Decimal) -> Decimal:
    return value.quantize(Q4, rounding=ROUND_HALF_UP)


def dec(value: Any) -> Decimal:
    """A float price from the market tables as an exact 4-decimal Decimal."""
    return Decimal(f"{float(value):.4f}")


def max_quote_age() -> int:
    return int(current_app.config.get("PAPER_QUOTE_MAX_AGE", 180))


def clock():
    """The market clock (``MARKET_CLOCK=always-open`` for the simulated provider)."""
    from app.market.services import market_clock

    return market_clock()


def session_for(now: dt.datetime) -> dt.date:
    """The session a day order placed at ``now`` is good for: the open session, else the
    next one (always-open demo clock: the ET calendar date)."""
    if clock().always_open:
        return mcal.to_et(now).date()
    current = mcal.current_session(now)
    if current:
        return current
    et_day = mcal.to_et(now).date()
    if mcal.is_session(et_day):
        open_, _ = mcal.session_open_close(et_day)
        if now < open_:
            return et_day
    return mcal.next_session(et_day)


def money(value: Any, field_name: str, *, minimum: Decimal = ZERO, maximum: Decimal | None = None,
          label: str = "Amount") -> Decimal:
    """Parse an amount typed by a person ("1,000", "$5") into a 4-decimal Decimal in range."""
    try:
        d = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except (InvalidOperation, AttributeError):
        raise InvalidInput(f"{label} must be a number.", field=field_name) from None
    if not d.is_finite() or d < minimum or (maximum is not None and d > maximum):
        bound = f" and at most {maximum:,}" if maximum is not None else ""
        raise InvalidInput(f"{label} must be at least {minimum:,}{bound}.", field=field_name)
    return q4(d)


MAX_ID = ERRORS_MAX_ID  # ids are INTEGER: a larger id cannot name a row (and would overflow the driver)


def row_id(value: Any, message: str) -> int:
    """An id from a caller as an int; anything else (or out of range) is NotFound(message)."""
    try:
        return parse_id(value)  # ids are INTEGER columns: 2^31 and more would overflow PostgreSQL
    except ValueError:
        raise NotFound(message) from None


def lock_accounts(ids: Iterable[int]) -> dict[int, PaperAccount]:
    """Lock accounts for a ledger write (ids in ascending order: no deadlocks) and return
    them freshly read."""
    ids = sorted(set(int(i) for i in ids))
    if not ids:
        return {}
    if db.session.get_bind().dialect.name == "sqlite":
        # the first write of the transaction takes SQLite's database write lock
        db.session.execute(update(PaperAccount).where(PaperAccount.id.in_(ids))
                           .values(version=PaperAccount.version),
                           execution_options={"synchronize_session": False})
    stmt = (select(PaperAccount).where(PaperAccount.id.in_(ids)).order_by(PaperAccount.id)
            .with_for_update().execution_options(populate_existing=True))
    return {a.id: a for a in db.session.scalars(stmt)}


def bump_version(account_id: int) -> None:
    """Mark the account changed (the live region's ETag) without touching its money."""
    db.session.execute(update(PaperAccount).where(PaperAccount.id == account_id)
                       .values(version=PaperAccount.version + 1))
