"""Orders: validate a ticket, risk-check it under the account lock, record it (with its
bracket legs) and execute it at once when the market is open and the quote fresh; cancel
an order; close a position.

Two doors, like :mod:`app.paper.accounts`: the user API (:func:`place_order`,
:func:`cancel_order`, :func:`close_position`) takes the acting user and an account id and
refuses managed accounts; the system API (:func:`place_system_order`,
:func:`cancel_system_order`, :func:`close_system_position`) takes a managed account and
refuses the others. Both run the same placement code below.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.database import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.market import calendar as mcal
from app.models.market import Snapshot, Stock
from app.models.paper import (
    CANCELLED,
    LIVE_STATUSES,
    OPEN,
    ORDER_TYPES,
    PENDING,
    ROLE_CLOSE,
    ROLE_ENTRY,
    ROLE_STOP_LOSS,
    ROLE_TAKE_PROFIT,
    SIDES,
    TIFS,
    Order,
    PaperAccount,
    Position,
)
from app.paper.accounts import managed_account, owned_account
from app.paper.book import Book, PosState, check_money, check_side, fill_price, load_books
from app.paper.common import (
    bump_version,
    clock,
    dec,
    lock_accounts,
    max_quote_age,
    money,
    q4,
    row_id,
    session_for,
)
from app.paper.cycle import process


@dataclass
class Quote:
    stock: Stock
    price: Decimal | None
    as_of: dt.datetime | None


@dataclass
class Ticket:
    """A validated order: what to record, and the reference price its checks use."""

    quote: Quote
    side: str
    type: str
    tif: str
    qty: int
    limit: Decimal | None
    stop: Decimal | None
    take_profit: Decimal | None
    stop_loss: Decimal | None
    key: str | None
    source: str

    @property
    def ref(self) -> Decimal:
        """The price the checks use: the limit, else the stop, else the quote."""
        return self.limit if self.limit is not None else (self.stop if self.stop is not None else self.quote.price)


def _quote(symbol: str) -> Quote:
    sym = (symbol or "").strip().upper()
    if not sym:
        raise InvalidInput("Enter a symbol.", field="symbol")
    row = db.session.execute(
        select(Stock, Snapshot.price, Snapshot.as_of).outerjoin(Snapshot, Snapshot.stock_id == Stock.id)
        .where(Stock.symbol == sym, Stock.active.is_(True))
    ).first()
    if row is None:
        raise InvalidInput(f"Unknown symbol {sym[:12]}.", field="symbol")
    if row.price is None:
        raise InvalidInput(f"There is no price for {sym} yet; try again after the next market data cycle.",
                           field="symbol")
    return Quote(row[0], dec(row.price), row.as_of)


def _parse_qty(qty: Any) -> int | None:
    if qty in (None, ""):
        return None
    try:
        d = Decimal(str(qty).strip())
    except InvalidOperation:
        raise InvalidInput("Quantity must be a whole number of shares.", field="qty") from None
    if not d.is_finite() or d != d.to_integral_value():
        raise InvalidInput("Quantity must be a whole number of shares (no fractions).", field="qty")
    if d <= 0:
        raise InvalidInput("Quantity must be at least 1 share.", field="qty")
    if d > 10_000_000:
        raise InvalidInput("Quantity must be at most 10,000,000 shares.", field="qty")
    return int(d)


def _opt_price(value: Any, field_name: str, label: str) -> Decimal | None:
    if value in (None, ""):
        return None
    return money(value, field_name, minimum=Decimal("0.0001"), maximum=Decimal("10000000"), label=label)


def _kind(side: str, type: str, tif: str) -> tuple[str, str, str]:
    side, type, tif = (side or "").lower(), (type or "").lower(), (tif or "day").lower()
    if side not in SIDES:
        raise InvalidInput("Side must be buy, sell, short or cover.", field="side")
    if type not in ORDER_TYPES:
        raise InvalidInput("Type must be market, limit, stop or stop-limit.", field="type")
    if tif not in TIFS:
        raise InvalidInput("Time in force must be day or GTC.", field="tif")
    return side, type, tif


def _levels(type: str, limit: Decimal | None, stop: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """The limit and stop prices the order type uses (the others are dropped)."""
    if type in ("limit", "stop_limit") and limit is None:
        raise InvalidInput("A limit price is required for this order type.", field="limit_price")
    if type in ("stop", "stop_limit") and stop is None:
        raise InvalidInput("A stop price is required for this order type.", field="stop_price")
    if type == "market":
        return None, None
    if type == "limit":
        return limit, None
    if type == "stop":
        return None, stop
    return limit, stop


def _shares(n: int | None, amount: Any, ref: Decimal) -> int:
    if n is not None:
        return n
    if amount in (None, ""):
        raise InvalidInput("Enter a quantity or an amount.", field="qty")
    value = money(amount, "amount", minimum=Decimal("1"), maximum=Decimal("1000000000"), label="Amount")
    n = int(value // ref)
    if n < 1:
        raise InvalidInput(f"The amount buys less than one share at ${ref:,.2f}.", field="amount")
    return n


def _check_bracket(t: Ticket) -> None:
    tp, sl, ref = t.take_profit, t.stop_loss, t.ref
    if (tp is not None or sl is not None) and t.side not in ("buy", "short"):
        raise InvalidInput("Take-profit and stop-loss attach to an entry (buy or short).", field="take_profit")
    long_entry = t.side == "buy"
    if tp is not None and ((tp <= ref) if long_entry else (tp >= ref)):
        raise InvalidInput(f"Take-profit must be {'above' if long_entry else 'below'} the entry price "
                           f"(${ref:,.2f}).", field="take_profit")
    if sl is not None and ((sl >= ref) if long_entry else (sl <= ref)):
        raise InvalidInput(f"Stop-loss must be {'below' if long_entry else 'above'} the entry price "
                           f"(${ref:,.2f}).", field="stop_loss")


def _ticket(*, symbol: str, side: str, qty: Any, amount: Any, type: str, limit_price: Any, stop_price: Any,
            tif: str, take_profit: Any, stop_loss: Any, idempotency_key: str | None, source: str) -> Ticket:
    """Validate everything that does not need the account (InvalidInput with the field)."""
    side, type, tif = _kind(side, type, tif)
    key = (idempotency_key or "").strip()[:64] or None
    limit = _opt_price(limit_price, "limit_price", "Limit price")
    stop = _opt_price(stop_price, "stop_price", "Stop price")
    tp = _opt_price(take_profit, "take_profit", "Take-profit")
    sl = _opt_price(stop_loss, "stop_loss", "Stop-loss")
    limit, stop = _levels(type, limit, stop)
    n = _parse_qty(qty)
    quote = _quote(symbol)
    t = Ticket(quote, side, type, tif, 0, limit, stop, tp, sl, key, (source or "manual")[:20])
    t.qty = _shares(n, amount, t.ref)
    _check_bracket(t)
    return t


def _risk_reason(book: Book, t: Ticket) -> str | None:
    """Side, buying power and the position-size cap, at the order's reference price."""
    stock, account = t.quote.stock, book.account
    reason = check_side(book, t.side, t.qty, stock.id, stock.symbol)
    if reason is None:
        reason = check_money(book, t.side, t.qty, fill_price(t.side, t.ref, book.slip, None))
    if reason is None and t.side in ("buy", "short"):
        held = book.positions.get(stock.id, PosState(stock.id)).qty
        exposure = (abs(held) + t.qty) * t.ref
        cap = book.equity() * Decimal(account.position_cap_pct) / 100
        if exposure > cap:
            reason = (f"Position cap: {stock.symbol} would be ${q4(exposure):,.2f}, more than "
                      f"{account.position_cap_pct:g}% of equity (${q4(cap):,.2f}).")
    return reason


def _record(account: PaperAccount, t: Ticket, role: str | None, now: dt.datetime) -> Order:
    """Insert the order and its pending bracket legs (flushed, not committed)."""
    stock_id = t.quote.stock.id
    order = Order(account_id=account.id, stock_id=stock_id, side=t.side, qty=t.qty, type=t.type,
                  limit_price=t.limit, stop_price=t.stop, tif=t.tif,
                  session=session_for(now) if t.tif == "day" else None, status=OPEN,
                  role=role or (ROLE_ENTRY if t.side in ("buy", "short") else "exit"),
                  take_profit=t.take_profit, stop_loss=t.stop_loss, idempotency_key=t.key, source=t.source,
                  created_at=now, updated_at=now)
    db.session.add(order)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("This order was already submitted.") from None
    exit_side = "sell" if t.side == "buy" else "cover"
    legs = [(ROLE_TAKE_PROFIT, {"type": "limit", "limit_price": t.take_profit}) if t.take_profit is not None else None,
            (ROLE_STOP_LOSS, {"type": "stop", "stop_price": t.stop_loss}) if t.stop_loss is not None else None]
    for leg_role, level in filter(None, legs):
        db.session.add(Order(account_id=account.id, stock_id=stock_id, side=exit_side, qty=t.qty, tif="gtc",
                             status=PENDING, role=leg_role, parent_id=order.id, oco_group=order.id,
                             source=order.source, created_at=now, updated_at=now, **level))
    if t.take_profit is not None or t.stop_loss is not None:
        db.session.flush()
    return order


def _place(account: PaperAccount, t: Ticket, now: dt.datetime, role: str | None = None) -> Order:
    """Record the validated ticket and fill it at once when it can; one transaction under
    the account lock, so a refused order writes nothing."""
    is_open = clock().is_open(now)
    fresh = t.quote.as_of is not None and (now - t.quote.as_of).total_seconds() <= max_quote_age()
    if t.type == "market" and is_open and not fresh:
        raise InvalidInput(f"The last quote for {t.quote.stock.symbol} is from {mcal.format_et(t.quote.as_of)}; "
                           "it is too old to trade on. Try again after the next market data cycle.",
                           field="symbol")
    accounts = lock_accounts([account.id])
    account = accounts[account.id]
    if t.key and db.session.scalar(select(Order.id).where(Order.account_id == account.id,
                                                          Order.idempotency_key == t.key)):
        db.session.rollback()
        raise Conflict("This order was already submitted.")
    book = load_books(accounts)[account.id]
    book.marks[t.quote.stock.id] = t.quote.price
    reason = _risk_reason(book, t)
    if reason:
        db.session.rollback()
        raise InvalidInput(reason, field="qty")
    order_id = _record(account, t, role, now).id
    if is_open and fresh:
        # same transaction, same lock: the fill either happens with the order or not at all
        reason = process([order_id], now, accounts=accounts, commit=False)["reasons"].get(order_id)
        if reason:
            db.session.rollback()
            raise InvalidInput(reason, field="qty")
    else:
        bump_version(account.id)
    db.session.commit()
    return db.session.get(Order, order_id)


def place_order(user, account_id: int, *, symbol: str, side: str, qty: Any = None,
                amount: Any = None, type: str = "market", limit_price: Any = None, stop_price: Any = None,
                tif: str = "day", take_profit: Any = None, stop_loss: Any = None,
                idempotency_key: str | None = None, source: str = "manual",
                now: dt.datetime | None = None) -> Order:
    """User API: validate, risk-check and record an order on the user's own account; it is
    executed at once when the market is open and the quote fresh (see
    :mod:`app.paper.services`). Raises InvalidInput (with the field), Conflict (duplicate
    idempotency key) or NotFound (not the user's account, or a managed one); a refused
    order writes nothing."""
    account = owned_account(user, account_id)
    t = _ticket(symbol=symbol, side=side, qty=qty, amount=amount, type=type, limit_price=limit_price,
                stop_price=stop_price, tif=tif, take_profit=take_profit, stop_loss=stop_loss,
                idempotency_key=idempotency_key, source=source)
    return _place(account, t, now or utcnow())


def place_system_order(account: PaperAccount | int, *, symbol: str, side: str, qty: Any = None,
                       amount: Any = None, type: str = "market", limit_price: Any = None, stop_price: Any = None,
                       tif: str = "day", take_profit: Any = None, stop_loss: Any = None,
                       idempotency_key: str | None = None, source: str = "strategy",
                       now: dt.datetime | None = None) -> Order:
    """System API: the same order as :func:`place_order` (same checks, same fills) on a
    managed account (an unmanaged one: NotFound)."""
    account = managed_account(account)
    t = _ticket(symbol=symbol, side=side, qty=qty, amount=amount, type=type, limit_price=limit_price,
                stop_price=stop_price, tif=tif, take_profit=take_profit, stop_loss=stop_loss,
                idempotency_key=idempotency_key, source=source)
    return _place(account, t, now or utcnow())


def _cancel(order: Order | None) -> Order:
    """Cancel a live order (its pending bracket legs with it) under the account lock."""
    if order is None:
        raise NotFound("No such order.")
    lock_accounts([order.account_id])
    db.session.refresh(order)
    if order.status not in LIVE_STATUSES:
        db.session.rollback()
        raise InvalidInput(f"This order is already {order.status}.", field="order")
    now = utcnow()
    order.status, order.updated_at = CANCELLED, now
    db.session.execute(update(Order).where(Order.parent_id == order.id, Order.status == PENDING)
                       .values(status=CANCELLED, updated_at=now))
    bump_version(order.account_id)
    db.session.commit()
    return order


def cancel_order(user, order_id: int) -> Order:
    """User API: cancel a live order on one of the user's own unmanaged accounts (a managed
    account's orders, e.g. a strategy's bracket legs: NotFound)."""
    order_id = row_id(order_id, "No such order.")
    return _cancel(db.session.scalar(
        select(Order).join(PaperAccount, PaperAccount.id == Order.account_id)
        .where(Order.id == order_id, PaperAccount.owner_id == user.id, PaperAccount.managed.is_(False))))


def cancel_system_order(account: PaperAccount | int, order_id: int) -> Order:
    """System API: cancel a live order of a managed account."""
    account = managed_account(account)
    order_id = row_id(order_id, "No such order.")
    return _cancel(db.session.scalar(select(Order).where(Order.id == order_id, Order.account_id == account.id)))


def _close(account: PaperAccount, stock_id: int, source: str, now: dt.datetime | None) -> Order:
    """Close a whole position with a market order (cancelling its other live exits)."""
    stock_id = row_id(stock_id, "No such position.")
    pos = db.session.scalar(select(Position).where(Position.account_id == account.id,
                                                   Position.stock_id == stock_id))
    if pos is None or pos.qty == 0:
        raise NotFound("No such position.")
    symbol, qty = pos.stock.symbol, abs(pos.qty)
    side = "sell" if pos.qty > 0 else "cover"
    account_id = account.id
    db.session.rollback()
    t = _ticket(symbol=symbol, side=side, qty=qty, amount=None, type="market", limit_price=None, stop_price=None,
                tif="gtc", take_profit=None, stop_loss=None, idempotency_key=None, source=source)
    order = _place(account, t, now or utcnow(), role=ROLE_CLOSE)
    # the position's other live exits (bracket legs, earlier sells) are no longer needed
    db.session.execute(update(Order).where(Order.account_id == account_id, Order.stock_id == stock_id,
                                           Order.side == side, Order.status.in_(LIVE_STATUSES), Order.id != order.id)
                       .values(status=CANCELLED, updated_at=utcnow()),
                       execution_options={"synchronize_session": False})
    db.session.commit()
    return db.session.get(Order, order.id)


def close_position(user, account_id: int, *, stock_id: int, source: str = "manual",
                   now: dt.datetime | None = None) -> Order:
    """User API: close a whole position of the user's own unmanaged account."""
    return _close(owned_account(user, account_id), stock_id, source, now)


def close_system_position(account: PaperAccount | int, *, stock_id: int, source: str = "strategy",
                          now: dt.datetime | None = None) -> Order:
    """System API: close a whole position of a managed account (a strategy's exit)."""
    return _close(managed_account(account), stock_id, source, now)
