"""The paper-trading ledger: the ONE API that writes accounts, orders, fills, positions,
trades and equity snapshots. Strategies (forward tracking) and copy trading call
:func:`place_order` / :func:`close_position` like a person does; nothing else writes
ledger rows.

Rules (PRODUCT.md section 4):

* **Fills happen here only**, at the 1-minute snapshot price, ``price x (1 + bps/10,000)``
  for buy/cover and ``x (1 - bps/10,000)`` for sell/short (against the trader; a limit
  order never fills worse than its limit), plus the account's per-order commission. No
  caller ever passes a fill price.
* **Market orders** are executed at once when the market is open (``MarketClock``, which
  honours ``MARKET_CLOCK=always-open`` for the simulated provider) and the snapshot is
  fresh (``as_of`` at most ``PAPER_QUOTE_MAX_AGE`` seconds old, default 180). When the
  market is closed they wait (status ``open``) and fill in the first cycle after the open.
  When the market is open but the quote is stale, the order is refused (nothing written)
  with a message saying so. Limit/stop orders placed while open and fresh are checked
  against the snapshot at once too, then every cycle.
* **Risk**: position size cap per symbol (default 25 % of equity, checked when an order
  opens or adds to a position, at the order's reference price); buying power
  ``= cash - 150 % x |short market value|`` (Reg-T style 50 % initial margin: a long costs
  its full value, a short of value V needs V/2 of buying power; sells and covers never
  need buying power). Longs can never go below 0 shares; a position never flips sides in
  one order (sell/cover close, buy/short open).
* **Refusals** at placement raise :class:`InvalidInput` (field + message) and write
  nothing. An order accepted earlier that cannot fill when triggered (cash spent
  meanwhile, position gone) becomes ``rejected`` with the reason.
* **Brackets**: an entry with take-profit and/or stop-loss creates its exit legs as
  ``pending`` children; when the entry fills they become ``open`` as an OCO pair (one
  fills, the other is cancelled; if both trigger in one cycle the stop-loss wins).
* **Concurrency**: every ledger write locks the account first (``SELECT ... FOR UPDATE``
  on PostgreSQL; on SQLite a no-op ``UPDATE`` that takes the database write lock), then
  writes cash with a compare-and-swap ``UPDATE ... WHERE version = :read_version``, so two
  orders on one account can never spend the same cash.
* **Accounting**: positions keep an exact ``cost_basis``; closing shares realise
  ``proceeds - basis share - fees`` into a :class:`Trade` and ``realised_pnl``, so
  ``equity = cash + sum(qty x mark) = start + realised + unrealised - open fees`` exactly.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import Double, and_, bindparam, case, cast, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.billing.plans import enforce_limit, plan_for
from app.database import utcnow
from app.errors import Conflict, InvalidInput, NotFound, parse_id
from app.extensions import db
from app.market import calendar as mcal
from app.models.market import Snapshot, Stock
from app.models.paper import (
    CANCELLED,
    EXPIRED,
    FILLED,
    LIVE_STATUSES,
    OPEN,
    ORDER_TYPES,
    PENDING,
    REJECTED,
    ROLE_CLOSE,
    ROLE_ENTRY,
    ROLE_STOP_LOSS,
    ROLE_TAKE_PROFIT,
    SIDES,
    TIFS,
    EquitySnapshot,
    Fill,
    Order,
    PaperAccount,
    Position,
    Trade,
)

Q4 = Decimal("0.0001")
ZERO = Decimal("0")
DEFAULT_BALANCE = Decimal("100000")
MAX_BALANCE = Decimal("100000000")
SHORT_MARGIN = Decimal("0.5")  # initial margin on a short sale
SHORT_MAINTENANCE = Decimal("1.5")  # buying power is cash minus 150 % of short value
WINDOWS = {"1d": 1, "1w": 7, "1m": 31, "3m": 92, "6m": 183, "1y": 366, "all": None}
BUY_SIDES = ("buy", "cover")


def q4(value: Decimal) -> Decimal:
    return value.quantize(Q4, rounding=ROUND_HALF_UP)


def dec(value: Any) -> Decimal:
    """A float price from the market tables as an exact 4-decimal Decimal."""
    return Decimal(f"{float(value):.4f}")


def max_quote_age() -> int:
    return int(current_app.config.get("PAPER_QUOTE_MAX_AGE", 180))


def _clock():
    from app.market.services import market_clock

    return market_clock()


def session_for(now: dt.datetime) -> dt.date:
    """The session a day order placed at ``now`` is good for: the open session, else the
    next one (always-open demo clock: the ET calendar date)."""
    clock = _clock()
    if clock.always_open:
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


# ===================================================================== accounts
def _owned_account(user, account_id: int, lock: bool = False) -> PaperAccount:
    try:
        account_id = parse_id(account_id)
    except ValueError:
        raise NotFound("No such paper account.") from None
    account = db.session.scalar(select(PaperAccount).where(
        PaperAccount.id == account_id, PaperAccount.owner_id == user.id, PaperAccount.managed.is_(False)))
    if account is None:
        raise NotFound("No such paper account.")
    return account


def get_account(user, account_id: int) -> PaperAccount:
    """The user's account (another user's id: NotFound, never Forbidden)."""
    return _owned_account(user, account_id)


def list_accounts(user) -> list[PaperAccount]:
    return list(db.session.scalars(select(PaperAccount).where(PaperAccount.owner_id == user.id,
                                                              PaperAccount.managed.is_(False))
                                   .order_by(PaperAccount.created_at, PaperAccount.id)))


def _money(value: Any, field_name: str, *, minimum: Decimal = ZERO, maximum: Decimal | None = None,
           label: str = "Amount") -> Decimal:
    try:
        d = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except (InvalidOperation, AttributeError):
        raise InvalidInput(f"{label} must be a number.", field=field_name) from None
    if not d.is_finite() or d < minimum or (maximum is not None and d > maximum):
        bound = f" and at most {maximum:,}" if maximum is not None else ""
        raise InvalidInput(f"{label} must be at least {minimum:,}{bound}.", field=field_name)
    return q4(d)


def open_account(user, name: str = "Paper account", starting_balance: Any = DEFAULT_BALANCE, *,
                 allow_short: bool = False, slippage_bps: Any = 5, commission: Any = 0,
                 position_cap_pct: Any = 25, managed: bool = False) -> PaperAccount:
    """Open an account. ``managed=True``: an account a strategy trades (forward tracking):
    reachable only through this service API, hidden from /paper, outside the plan limit."""
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise InvalidInput("Give the account a name of 1 to 60 characters.", field="name")
    balance = _money(starting_balance, "starting_balance", minimum=Decimal("100"), maximum=MAX_BALANCE,
                     label="Starting balance")
    slip = _money(slippage_bps, "slippage_bps", maximum=Decimal("500"), label="Slippage (bps)")
    fee = _money(commission, "commission", maximum=Decimal("1000"), label="Commission")
    cap = _money(position_cap_pct, "position_cap_pct", minimum=Decimal("1"), maximum=Decimal("100"),
                 label="Position cap %")
    if not managed:
        enforce_limit(user, plan_for(user), "paper_accounts", lambda: len(list_accounts(user)), noun="paper accounts",
                      message="Your plan allows {limit} paper account{s}. Upgrade your plan to open more.")
    if not managed and db.session.scalar(select(PaperAccount.id).where(PaperAccount.owner_id == user.id,
                                                                       PaperAccount.name == name)):
        raise InvalidInput("You already have an account with this name.", field="name")
    account = PaperAccount(owner_id=user.id, name=name, starting_balance=balance, cash=balance,
                           realised_pnl=ZERO, commissions_paid=ZERO, allow_short=bool(allow_short),
                           slippage_bps=slip, commission=fee, position_cap_pct=cap, version=0,
                           managed=bool(managed))
    db.session.add(account)
    db.session.commit()
    return account


def reset_account(user, account_id: int, starting_balance: Any = None) -> PaperAccount:
    """Start over: every order, fill, position, trade and equity snapshot of the account is
    deleted and cash returns to the starting balance (or a new one)."""
    account = _owned_account(user, account_id)
    _lock_accounts([account.id])
    if starting_balance not in (None, ""):
        account.starting_balance = _money(starting_balance, "starting_balance", minimum=Decimal("100"),
                                          maximum=MAX_BALANCE, label="Starting balance")
    for model in (Trade, Fill, Position, EquitySnapshot):
        db.session.execute(delete(model).where(model.account_id == account.id))
    db.session.execute(update(Order).where(Order.account_id == account.id).values(parent_id=None))
    db.session.execute(delete(Order).where(Order.account_id == account.id))
    account.cash = account.starting_balance
    account.realised_pnl = ZERO
    account.commissions_paid = ZERO
    account.reset_at = utcnow()
    account.version = (account.version or 0) + 1
    db.session.commit()
    return account


def _lock_accounts(ids: Iterable[int]) -> dict[int, PaperAccount]:
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


# ===================================================================== in-memory book
@dataclass
class PosState:
    stock_id: int
    qty: int = 0
    cost_basis: Decimal = ZERO
    open_fees: Decimal = ZERO
    stop_price: Decimal | None = None
    entry_order_id: int | None = None
    opened_at: dt.datetime | None = None
    id: int | None = None
    changed: bool = False

    @property
    def avg(self) -> Decimal:
        return q4(self.cost_basis / abs(self.qty)) if self.qty else ZERO


@dataclass
class Book:
    account: PaperAccount
    cash: Decimal
    realised: Decimal
    commissions: Decimal
    version: int
    positions: dict[int, PosState]
    marks: dict[int, Decimal]
    fills: list[dict] = field(default_factory=list)
    trades: list[dict] = field(default_factory=list)

    @property
    def slip(self) -> Decimal:
        return Decimal(self.account.slippage_bps) / Decimal(10000)

    def short_value(self) -> Decimal:
        return sum((abs(p.qty) * self.marks.get(s, p.avg) for s, p in self.positions.items() if p.qty < 0), ZERO)

    def positions_value(self) -> Decimal:
        return sum((p.qty * self.marks.get(s, p.avg) for s, p in self.positions.items() if p.qty), ZERO)

    def equity(self) -> Decimal:
        return self.cash + self.positions_value()

    def buying_power(self) -> Decimal:
        return self.cash - SHORT_MAINTENANCE * self.short_value()


def _load_books(accounts: dict[int, PaperAccount]) -> dict[int, Book]:
    ids = list(accounts)
    books = {a.id: Book(a, a.cash, a.realised_pnl, a.commissions_paid, a.version, {}, {}) for a in accounts.values()}
    rows = db.session.execute(
        select(Position.id, Position.account_id, Position.stock_id, Position.qty, Position.cost_basis,
               Position.open_fees, Position.stop_price, Position.entry_order_id, Position.opened_at,
               Snapshot.price)
        .outerjoin(Snapshot, Snapshot.stock_id == Position.stock_id)
        .where(Position.account_id.in_(ids))
    ).all()
    for r in rows:
        book = books[r.account_id]
        book.positions[r.stock_id] = PosState(r.stock_id, r.qty, r.cost_basis, r.open_fees, r.stop_price,
                                              r.entry_order_id, r.opened_at, r.id)
        if r.price is not None:
            book.marks[r.stock_id] = dec(r.price)
    return books


def fill_price(side: str, market: Decimal, slip: Decimal, limit: Decimal | None) -> Decimal:
    """The price a trader gets: slippage against them, never worse than a limit."""
    if side in BUY_SIDES:
        price = q4(market * (1 + slip))
        if limit is not None:
            price = min(price, limit)
    else:
        price = q4(market * (1 - slip))
        if limit is not None:
            price = max(price, limit)
    return price


def _check_side(book: Book, side: str, qty: int, stock_id: int, symbol: str) -> str | None:
    held = book.positions.get(stock_id, PosState(stock_id)).qty
    if side == "buy" and held < 0:
        return f"You are short {symbol}: use cover to buy it back."
    if side == "short":
        if not book.account.allow_short:
            return "Short selling is not enabled on this account."
        if held > 0:
            return f"You hold {symbol} long: sell it before shorting."
    if side == "sell" and qty > max(held, 0):
        return f"You hold {max(held, 0)} shares of {symbol}; you cannot sell {qty}."
    if side == "cover" and qty > max(-held, 0):
        return f"You are short {max(-held, 0)} shares of {symbol}; you cannot cover {qty}."
    return None


def _check_money(book: Book, side: str, qty: int, price: Decimal) -> str | None:
    if side not in ("buy", "short"):
        return None
    fee = book.account.commission
    need = qty * price + fee if side == "buy" else SHORT_MARGIN * qty * price + fee
    bp = book.buying_power()
    if need > bp:
        return f"Insufficient buying power: this order needs ${q4(need):,.2f}, you have ${max(q4(bp), ZERO):,.2f}."
    return None


def _execute(book: Book, order: dict, market: Decimal, now: dt.datetime, symbol: str = "") -> str | None:
    """Apply one fill to the book (in memory). Returns a rejection reason or None."""
    side, stock_id = order["side"], order["stock_id"]
    qty = int(order["qty"])
    pos = book.positions.get(stock_id)
    if order.get("role") in (ROLE_TAKE_PROFIT, ROLE_STOP_LOSS, ROLE_CLOSE):
        held = (pos.qty if pos else 0) * (1 if side == "sell" else -1)
        if held <= 0:
            return "The position was already closed."
        qty = min(qty, held)
    symbol = symbol or f"#{stock_id}"
    reason = _check_side(book, side, qty, stock_id, symbol)
    if reason:
        return reason
    price = fill_price(side, market, book.slip, order.get("limit_price"))
    reason = _check_money(book, side, qty, price)
    if reason:
        return reason
    fee = Decimal(book.account.commission)
    slippage = abs(price - market) * qty
    if pos is None:
        pos = book.positions[stock_id] = PosState(stock_id)
    pos.changed = True
    book.marks.setdefault(stock_id, market)
    signed = qty if side in BUY_SIDES else -qty
    fill = {"order_id": order["id"], "account_id": book.account.id, "stock_id": stock_id, "side": side,
            "qty": qty, "price": price, "market_price": market, "slippage": q4(slippage),
            "commission": fee, "ts": now}
    book.fills.append(fill)
    book.cash += (-signed) * price - fee
    book.commissions += fee
    if side in ("buy", "short"):  # open or add
        if pos.qty == 0:
            pos.opened_at, pos.entry_order_id, pos.stop_price = now, order["id"], None
        pos.qty += signed
        pos.cost_basis += qty * price
        pos.open_fees += fee
        if order.get("stop_loss") is not None:
            pos.stop_price = order["stop_loss"]
    else:  # reduce or close: realise a trade for the closed shares
        before = abs(pos.qty)
        basis = pos.cost_basis if qty == before else q4(pos.cost_basis * qty / before)
        entry_fees = pos.open_fees if qty == before else q4(pos.open_fees * qty / before)
        proceeds = qty * price
        gross = proceeds - basis if side == "sell" else basis - proceeds
        pnl = gross - entry_fees - fee
        entry_price = q4(basis / qty)
        r_multiple = None
        if pos.stop_price is not None and pos.stop_price != entry_price:
            risk = abs(entry_price - pos.stop_price)
            per_share = (price - entry_price) if side == "sell" else (entry_price - price)
            r_multiple = q4(per_share / risk)
        book.trades.append({
            "account_id": book.account.id, "stock_id": stock_id, "side": "long" if side == "sell" else "short",
            "qty": qty, "entry_price": entry_price, "exit_price": price, "entry_time": pos.opened_at or now,
            "exit_time": now, "fees": entry_fees + fee, "pnl": pnl,
            "pnl_pct": q4(pnl / basis * 100) if basis else ZERO, "r_multiple": r_multiple,
            "holding_seconds": int((now - (pos.opened_at or now)).total_seconds()),
            "entry_order_id": pos.entry_order_id, "exit_order_id": order["id"], "_fill": fill,
        })
        book.realised += pnl
        pos.qty += signed
        pos.cost_basis -= basis
        pos.open_fees -= entry_fees
    order["_filled_qty"] = qty
    order["_fill_price"] = price
    return None


def _persist(books: dict[int, Book], order_updates: list[dict], now: dt.datetime) -> None:
    """Bulk-write what the books did: fills, trades, positions, orders, account cash (CAS)."""
    fills = [f for b in books.values() for f in b.fills]
    if fills:
        ids = db.session.scalars(insert(Fill).returning(Fill.id, sort_by_parameter_order=True), fills).all()
        for f, fid in zip(fills, ids, strict=True):
            f["id"] = fid
    trades = [t for b in books.values() for t in b.trades]
    if trades:
        rows = [{**{k: v for k, v in t.items() if k != "_fill"}, "exit_fill_id": t["_fill"]["id"]} for t in trades]
        db.session.execute(insert(Trade), rows)
    new_pos, upd_pos, del_pos = [], [], []
    for b in books.values():
        for p in b.positions.values():
            if not p.changed:
                continue
            if p.qty == 0:
                if p.id is not None:
                    del_pos.append(p.id)
                continue
            row = {"qty": p.qty, "avg_price": p.avg, "cost_basis": p.cost_basis, "open_fees": p.open_fees,
                   "stop_price": p.stop_price, "entry_order_id": p.entry_order_id, "updated_at": now}
            if p.id is None:
                new_pos.append({**row, "account_id": b.account.id, "stock_id": p.stock_id, "opened_at": p.opened_at or now})
            else:
                upd_pos.append({**row, "id": p.id, "opened_at": p.opened_at})
    if del_pos:
        db.session.execute(delete(Position).where(Position.id.in_(del_pos)))
    if upd_pos:
        db.session.execute(update(Position), upd_pos)
    if new_pos:
        db.session.execute(insert(Position), new_pos)
    if order_updates:
        db.session.execute(update(Order), order_updates)
    rows = [{"b_id": b.account.id, "b_version": b.version, "cash": b.cash, "realised_pnl": b.realised,
             "commissions_paid": b.commissions, "version": b.version + 1} for b in books.values()]
    if rows:
        t = PaperAccount.__table__
        stmt = (update(t).where(and_(t.c.id == bindparam("b_id"), t.c.version == bindparam("b_version")))
                .values(cash=bindparam("cash"), realised_pnl=bindparam("realised_pnl"),
                        commissions_paid=bindparam("commissions_paid"), version=bindparam("version")))
        result = db.session.connection().execute(stmt, rows)
        dialect = db.session.get_bind().dialect
        if (len(rows) == 1 or dialect.supports_sane_multi_rowcount) and result.rowcount not in (-1, len(rows)):
            raise Conflict("The account changed while the order was processed; please try again.")


# ===================================================================== orders
@dataclass
class Quote:
    stock: Stock
    price: Decimal | None
    as_of: dt.datetime | None


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
    return _money(value, field_name, minimum=Decimal("0.0001"), maximum=Decimal("10000000"), label=label)


def _resolve_account(user_or_account, account_id) -> PaperAccount:
    if isinstance(user_or_account, PaperAccount):
        return user_or_account
    if account_id is None:
        raise NotFound("No such paper account.")
    return _owned_account(user_or_account, account_id)


def place_order(user_or_account, account_id: int | None = None, *, symbol: str, side: str, qty: Any = None,
                amount: Any = None, type: str = "market", limit_price: Any = None, stop_price: Any = None,
                tif: str = "day", take_profit: Any = None, stop_loss: Any = None,
                idempotency_key: str | None = None, source: str = "manual",
                now: dt.datetime | None = None, _role: str | None = None) -> Order:
    """Validate, risk-check and record an order; execute it at once when the market is open
    and the quote fresh (see the module docstring). Raises InvalidInput (with the field),
    Conflict (duplicate idempotency key) or NotFound (not the caller's account); a refused
    order writes nothing."""
    now = now or utcnow()
    account = _resolve_account(user_or_account, account_id)
    side = (side or "").lower()
    if side not in SIDES:
        raise InvalidInput("Side must be buy, sell, short or cover.", field="side")
    type = (type or "").lower()
    if type not in ORDER_TYPES:
        raise InvalidInput("Type must be market, limit, stop or stop-limit.", field="type")
    tif = (tif or "day").lower()
    if tif not in TIFS:
        raise InvalidInput("Time in force must be day or GTC.", field="tif")
    key = (idempotency_key or "").strip()[:64] or None
    limit = _opt_price(limit_price, "limit_price", "Limit price")
    stop = _opt_price(stop_price, "stop_price", "Stop price")
    tp = _opt_price(take_profit, "take_profit", "Take-profit")
    sl = _opt_price(stop_loss, "stop_loss", "Stop-loss")
    if type in ("limit", "stop_limit") and limit is None:
        raise InvalidInput("A limit price is required for this order type.", field="limit_price")
    if type in ("stop", "stop_limit") and stop is None:
        raise InvalidInput("A stop price is required for this order type.", field="stop_price")
    if type == "market":
        limit = stop = None
    elif type == "limit":
        stop = None
    elif type == "stop":
        limit = None
    n = _parse_qty(qty)
    quote = _quote(symbol)
    ref = limit if limit is not None else (stop if stop is not None else quote.price)
    if n is None:
        if amount in (None, ""):
            raise InvalidInput("Enter a quantity or an amount.", field="qty")
        value = _money(amount, "amount", minimum=Decimal("1"), maximum=Decimal("1000000000"), label="Amount")
        n = int(value // ref)
        if n < 1:
            raise InvalidInput(f"The amount buys less than one share at ${ref:,.2f}.", field="amount")
    if (tp is not None or sl is not None) and side not in ("buy", "short"):
        raise InvalidInput("Take-profit and stop-loss attach to an entry (buy or short).", field="take_profit")
    long_entry = side == "buy"
    if tp is not None and ((tp <= ref) if long_entry else (tp >= ref)):
        raise InvalidInput(f"Take-profit must be {'above' if long_entry else 'below'} the entry price "
                           f"(${ref:,.2f}).", field="take_profit")
    if sl is not None and ((sl >= ref) if long_entry else (sl <= ref)):
        raise InvalidInput(f"Stop-loss must be {'below' if long_entry else 'above'} the entry price "
                           f"(${ref:,.2f}).", field="stop_loss")
    clock = _clock()
    is_open = clock.is_open(now)
    fresh = quote.as_of is not None and (now - quote.as_of).total_seconds() <= max_quote_age()
    if type == "market" and is_open and not fresh:
        raise InvalidInput(f"The last quote for {quote.stock.symbol} is from {mcal.format_et(quote.as_of)}; "
                           "it is too old to trade on. Try again after the next market data cycle.",
                           field="symbol")

    # ---- locked section: nothing is written unless every check passes
    accounts = _lock_accounts([account.id])
    account = accounts[account.id]
    if key and db.session.scalar(select(Order.id).where(Order.account_id == account.id,
                                                        Order.idempotency_key == key)):
        db.session.rollback()
        raise Conflict("This order was already submitted.")
    book = _load_books(accounts)[account.id]
    book.marks[quote.stock.id] = quote.price
    reason = _check_side(book, side, n, quote.stock.id, quote.stock.symbol)
    est = fill_price(side, ref, book.slip, None)
    if reason is None:
        reason = _check_money(book, side, n, est)
    if reason is None and side in ("buy", "short"):
        held = book.positions.get(quote.stock.id, PosState(quote.stock.id)).qty
        exposure = (abs(held) + n) * ref
        cap = book.equity() * Decimal(account.position_cap_pct) / 100
        if exposure > cap:
            reason = (f"Position cap: {quote.stock.symbol} would be ${q4(exposure):,.2f}, more than "
                      f"{account.position_cap_pct:g}% of equity (${q4(cap):,.2f}).")
    if reason:
        db.session.rollback()
        raise InvalidInput(reason, field="qty")

    order = Order(account_id=account.id, stock_id=quote.stock.id, side=side, qty=n, type=type,
                  limit_price=limit, stop_price=stop, tif=tif, session=session_for(now) if tif == "day" else None,
                  status=OPEN, role=ROLE_ENTRY if side in ("buy", "short") else "exit",
                  take_profit=tp, stop_loss=sl, idempotency_key=key, source=source[:20],
                  created_at=now, updated_at=now)
    if _role:
        order.role = _role
    db.session.add(order)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("This order was already submitted.") from None
    if tp is not None or sl is not None:
        exit_side = "sell" if long_entry else "cover"
        if tp is not None:
            db.session.add(Order(account_id=account.id, stock_id=quote.stock.id, side=exit_side, qty=n,
                                 type="limit", limit_price=tp, tif="gtc", status=PENDING, role=ROLE_TAKE_PROFIT,
                                 parent_id=order.id, oco_group=order.id, source=order.source,
                                 created_at=now, updated_at=now))
        if sl is not None:
            db.session.add(Order(account_id=account.id, stock_id=quote.stock.id, side=exit_side, qty=n,
                                 type="stop", stop_price=sl, tif="gtc", status=PENDING, role=ROLE_STOP_LOSS,
                                 parent_id=order.id, oco_group=order.id, source=order.source,
                                 created_at=now, updated_at=now))
        db.session.flush()
    order_id = order.id
    if is_open and fresh:
        # same transaction, same lock: the fill either happens with the order or not at all
        stats = _process([order_id], now, accounts=accounts, commit=False)
        reason = stats["reasons"].get(order_id)
        if reason:
            db.session.rollback()
            raise InvalidInput(reason, field="qty")
    else:
        db.session.execute(update(PaperAccount).where(PaperAccount.id == account.id)
                           .values(version=PaperAccount.version + 1))
    db.session.commit()
    return db.session.get(Order, order_id)


def cancel_order(user, order_id: int) -> Order:
    """Cancel a live order of the user's (its pending bracket legs with it)."""
    try:
        order_id = parse_id(order_id)
    except ValueError:
        raise NotFound("No such order.") from None
    order = db.session.scalar(select(Order).join(PaperAccount, PaperAccount.id == Order.account_id)
                              .where(Order.id == order_id, PaperAccount.owner_id == user.id))
    if order is None:
        raise NotFound("No such order.")
    _lock_accounts([order.account_id])
    db.session.refresh(order)
    if order.status not in LIVE_STATUSES:
        db.session.rollback()
        raise InvalidInput(f"This order is already {order.status}.", field="order")
    now = utcnow()
    order.status, order.updated_at = CANCELLED, now
    db.session.execute(update(Order).where(Order.parent_id == order.id, Order.status == PENDING)
                       .values(status=CANCELLED, updated_at=now))
    db.session.execute(update(PaperAccount).where(PaperAccount.id == order.account_id)
                       .values(version=PaperAccount.version + 1))
    db.session.commit()
    return order


def close_position(user_or_account, account_id: int | None = None, *, stock_id: int,
                   source: str = "manual", now: dt.datetime | None = None) -> Order:
    """Close a whole position with a market order (cancelling its live exit legs)."""
    account = _resolve_account(user_or_account, account_id)
    pos = db.session.scalar(select(Position).where(Position.account_id == account.id,
                                                   Position.stock_id == stock_id))
    if pos is None or pos.qty == 0:
        raise NotFound("No such position.")
    symbol, qty = pos.stock.symbol, abs(pos.qty)
    side = "sell" if pos.qty > 0 else "cover"
    db.session.rollback()
    order = place_order(account, symbol=symbol, side=side, qty=qty, type="market", tif="gtc", source=source,
                        now=now, _role=ROLE_CLOSE)
    # the position's other live exits (bracket legs, earlier sells) are no longer needed
    db.session.execute(update(Order).where(Order.account_id == account.id, Order.stock_id == stock_id,
                                           Order.side == side, Order.status.in_(LIVE_STATUSES), Order.id != order.id)
                       .values(status=CANCELLED, updated_at=utcnow()),
                       execution_options={"synchronize_session": False})
    db.session.commit()
    return db.session.get(Order, order.id)


# ===================================================================== the cycle
def _order_rows(ids: list[int]) -> list[dict]:
    rows = db.session.execute(
        select(Order.id, Order.account_id, Order.stock_id, Order.side, Order.qty, Order.type, Order.limit_price,
               Order.stop_price, Order.role, Order.oco_group, Order.stop_loss, Order.parent_id, Order.status,
               Stock.symbol, Snapshot.price)
        .join(Stock, Stock.id == Order.stock_id).outerjoin(Snapshot, Snapshot.stock_id == Order.stock_id)
        .where(Order.id.in_(ids))
    ).mappings().all()
    return [dict(r) for r in rows]


def _process(candidate_ids: list[int], now: dt.datetime, triggered_only: bool = False,
             accounts: dict[int, PaperAccount] | None = None, commit: bool = True) -> dict:
    """Execute the given open orders whose trigger holds at the current snapshot (all of
    them when they were selected by the vectorised pass). One transaction: lock the
    accounts, fill in memory, bulk write, commit."""
    stats: dict[str, Any] = {"filled": 0, "rejected": 0, "cancelled": 0, "reasons": {}}
    if not candidate_ids:
        return stats
    rows = _order_rows(candidate_ids)
    if accounts is None:
        accounts = _lock_accounts({r["account_id"] for r in rows})
    # re-read status under the lock: a cancel may have won the race
    status = dict(db.session.execute(select(Order.id, Order.status).where(Order.id.in_(candidate_ids))).all())
    rows = [r for r in rows if status.get(r["id"]) == OPEN and r["price"] is not None]
    if not triggered_only:
        rows = [r for r in rows if _triggered_one(r)]
    books = _load_books(accounts)
    updates: list[dict] = []
    filled_groups: set[int] = set()
    filled_entries: list[int] = []
    dead_entries: list[int] = []
    # stop-losses first inside an OCO group (conservative when both legs trigger)
    rows.sort(key=lambda r: (r["account_id"], 0 if r["role"] == ROLE_STOP_LOSS else 1, r["id"]))
    for r in rows:
        if r["oco_group"] is not None and r["oco_group"] in filled_groups:
            updates.append({"id": r["id"], "status": CANCELLED, "updated_at": now})
            stats["cancelled"] += 1
            continue
        book = books[r["account_id"]]
        market = dec(r["price"])
        book.marks[r["stock_id"]] = market
        reason = _execute(book, r, market, now, r["symbol"])
        if reason:
            stats["rejected"] += 1
            stats["reasons"][r["id"]] = reason
            updates.append({"id": r["id"], "status": REJECTED if r["role"] not in (ROLE_TAKE_PROFIT, ROLE_STOP_LOSS)
                            else CANCELLED, "reject_reason": reason[:300], "updated_at": now})
            if r["role"] == ROLE_ENTRY:
                dead_entries.append(r["id"])
            continue
        stats["filled"] += 1
        updates.append({"id": r["id"], "status": FILLED, "filled_at": now, "fill_price": r["_fill_price"],
                        "updated_at": now})
        if r["oco_group"] is not None:
            filled_groups.add(r["oco_group"])
        if r["role"] == ROLE_ENTRY:
            filled_entries.append(r["id"])
    _persist(books, updates, now)
    if filled_groups:
        done = {u["id"] for u in updates}
        res = db.session.execute(update(Order).where(Order.oco_group.in_(filled_groups), Order.status.in_(LIVE_STATUSES),
                                                     Order.id.not_in(done) if done else True)
                                 .values(status=CANCELLED, updated_at=now),
                                 execution_options={"synchronize_session": False})
        stats["cancelled"] += res.rowcount or 0
    if filled_entries:
        db.session.execute(update(Order).where(Order.parent_id.in_(filled_entries), Order.status == PENDING)
                           .values(status=OPEN, updated_at=now), execution_options={"synchronize_session": False})
    if dead_entries:
        db.session.execute(update(Order).where(Order.parent_id.in_(dead_entries), Order.status == PENDING)
                           .values(status=CANCELLED, updated_at=now), execution_options={"synchronize_session": False})
    if commit:
        db.session.commit()
    return stats


def _triggered_one(r: dict) -> bool:
    mask = triggers(np.array([r["side"] in BUY_SIDES]), np.array([r["type"]]), np.array([float(r["price"])]),
                    np.array([float(r["limit_price"]) if r["limit_price"] is not None else np.nan]),
                    np.array([float(r["stop_price"]) if r["stop_price"] is not None else np.nan]),
                    np.array([bool(r.get("stop_triggered"))]))
    return bool(mask[0][0])


def triggers(is_buy: np.ndarray, otype: np.ndarray, price: np.ndarray, limit: np.ndarray,
             stop: np.ndarray, armed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised trigger rules. Returns (fill now, stop-limit newly armed).

    market: always; limit: buy/cover when price <= limit, sell/short when price >= limit;
    stop: buy/cover when price >= stop, sell/short when price <= stop; stop-limit: once its
    stop is hit it is armed and then behaves as a limit order."""
    with np.errstate(invalid="ignore"):
        limit_ok = np.where(is_buy, price <= limit, price >= limit)
        stop_hit = np.where(is_buy, price >= stop, price <= stop)
    is_market = otype == "market"
    is_limit = otype == "limit"
    is_stop = otype == "stop"
    is_sl = otype == "stop_limit"
    now_armed = is_sl & (armed | stop_hit)
    fill = is_market | (is_limit & limit_ok) | (is_stop & stop_hit) | (now_armed & limit_ok)
    newly_armed = now_armed & ~armed & ~fill
    return fill, newly_armed


def expire_day_orders(before_session: dt.date, now: dt.datetime | None = None) -> int:
    """Day orders good for a session before ``before_session`` expire (with their legs)."""
    now = now or utcnow()
    stale = select(Order.id).where(Order.tif == "day", Order.status.in_(LIVE_STATUSES),
                                   Order.session < before_session, Order.parent_id.is_(None))
    ids = list(db.session.scalars(stale))
    if not ids:
        return 0
    db.session.execute(update(Order).where(Order.id.in_(ids)).values(status=EXPIRED, updated_at=now),
                       execution_options={"synchronize_session": False})
    db.session.execute(update(Order).where(Order.parent_id.in_(ids), Order.status == PENDING)
                       .values(status=CANCELLED, updated_at=now), execution_options={"synchronize_session": False})
    db.session.commit()
    return len(ids)


def process_open_orders(stock_ids: Iterable[int] | None = None, as_of: dt.datetime | None = None) -> dict:
    """The 1-minute check: one query loads every open order with its snapshot price, one
    numpy pass decides which trigger, then the fills are applied in one transaction with
    bulk writes. Orders wait while the market is closed; stale quotes are skipped."""
    now = as_of or utcnow()
    clock = _clock()
    if not clock.is_open(now):
        return {"checked": 0, "filled": 0, "rejected": 0, "cancelled": 0, "armed": 0, "expired": 0}
    expired = expire_day_orders(session_for(now), now)
    stmt = (select(Order.id, Order.side, Order.type, cast(Snapshot.price, Double), cast(Order.limit_price, Double),
                   cast(Order.stop_price, Double), Order.stop_triggered, Snapshot.as_of)
            .join(Snapshot, Snapshot.stock_id == Order.stock_id).where(Order.status == OPEN))
    if stock_ids is not None:
        ids = list(stock_ids)
        if not ids:
            return {"checked": 0, "filled": 0, "rejected": 0, "cancelled": 0, "armed": 0, "expired": expired}
        if len(ids) < 30000:
            stmt = stmt.where(Order.stock_id.in_(ids))
    rows = db.session.execute(stmt).all()
    result = {"checked": len(rows), "armed": 0, "expired": expired}
    if not rows:
        return {**result, "filled": 0, "rejected": 0, "cancelled": 0}
    cols = list(zip(*rows, strict=True))
    oid = np.fromiter(cols[0], dtype=np.int64, count=len(rows))
    is_buy = np.isin(np.array(cols[1], dtype=object), BUY_SIDES)
    otype = np.array(cols[2], dtype=object)
    price = np.array(cols[3], dtype=float)
    limit = np.array([np.nan if v is None else v for v in cols[4]], dtype=float)
    stop = np.array([np.nan if v is None else v for v in cols[5]], dtype=float)
    armed = np.array(cols[6], dtype=bool)
    horizon = now - dt.timedelta(seconds=max_quote_age())
    fresh = np.array([t is not None and t >= horizon for t in cols[7]], dtype=bool)
    fill, newly = triggers(is_buy, otype, price, limit, stop, armed)
    fill &= fresh
    newly &= fresh
    if newly.any():
        db.session.execute(update(Order), [{"id": int(i), "stop_triggered": True} for i in oid[newly]])
        db.session.commit()
        result["armed"] = int(newly.sum())
    stats = _process([int(i) for i in oid[fill]], now, triggered_only=True)
    return {**result, **stats}


def snapshot_equity(session: dt.date, now: dt.datetime | None = None) -> int:
    """After the close: one EquitySnapshot per account for ``session`` (marked at the
    snapshot prices; idempotent), and day orders for that session expire."""
    now = now or utcnow()
    expire_day_orders(session + dt.timedelta(days=1), now)
    pv = dict(db.session.execute(
        select(Position.account_id, func.sum(Position.qty * func.coalesce(Snapshot.price, cast(Position.avg_price, Double))))
        .outerjoin(Snapshot, Snapshot.stock_id == Position.stock_id).group_by(Position.account_id)
    ).all())
    accounts = db.session.execute(select(PaperAccount.id, PaperAccount.cash)).all()
    rows = []
    for aid, cash in accounts:
        value = dec(pv.get(aid) or 0)
        rows.append({"account_id": aid, "session": session, "cash": cash, "positions_value": value,
                     "equity": cash + value, "created_at": now})
    if not rows:
        return 0
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    for i in range(0, len(rows), 2000):
        stmt = dialect_insert(EquitySnapshot)
        stmt = stmt.on_conflict_do_update(index_elements=["account_id", "session"], set_={
            "cash": stmt.excluded.cash, "positions_value": stmt.excluded.positions_value,
            "equity": stmt.excluded.equity, "created_at": stmt.excluded.created_at})
        db.session.execute(stmt, rows[i:i + 2000])
    db.session.commit()
    return len(rows)


# ===================================================================== reads
@dataclass
class PositionView:
    stock_id: int
    symbol: str
    name: str
    qty: int
    avg_price: Decimal
    mark: Decimal | None
    market_value: Decimal
    unrealised: Decimal
    unrealised_pct: Decimal | None
    stop_price: Decimal | None
    open_fees: Decimal
    as_of: dt.datetime | None


@dataclass
class Summary:
    account: PaperAccount
    cash: Decimal
    positions_value: Decimal
    equity: Decimal
    buying_power: Decimal
    realised_pnl: Decimal
    unrealised_pnl: Decimal
    open_fees: Decimal
    total_return_pct: Decimal
    positions: list[PositionView]
    as_of: dt.datetime | None


def account_summary(account: PaperAccount) -> Summary:
    rows = db.session.execute(
        select(Position, Stock.symbol, Stock.name, Snapshot.price, Snapshot.as_of)
        .join(Stock, Stock.id == Position.stock_id).outerjoin(Snapshot, Snapshot.stock_id == Position.stock_id)
        .where(Position.account_id == account.id).order_by(Stock.symbol)
    ).all()
    views = []
    short_value = ZERO
    latest = None
    for pos, symbol, name, price, as_of in rows:
        mark = dec(price) if price is not None else None
        m = mark if mark is not None else pos.avg_price
        value = pos.qty * m
        unreal = (value - pos.cost_basis) if pos.qty > 0 else (pos.cost_basis - abs(pos.qty) * m)
        pct = q4(unreal / pos.cost_basis * 100) if pos.cost_basis else None
        if pos.qty < 0:
            short_value += abs(value)
        if as_of and (latest is None or as_of > latest):
            latest = as_of
        views.append(PositionView(pos.stock_id, symbol, name, pos.qty, pos.avg_price, mark, value, unreal, pct,
                                  pos.stop_price, pos.open_fees, as_of))
    pv = sum((v.market_value for v in views), ZERO)
    equity = account.cash + pv
    start = account.starting_balance
    return Summary(account, account.cash, pv, equity, account.cash - SHORT_MAINTENANCE * short_value,
                   account.realised_pnl, sum((v.unrealised for v in views), ZERO),
                   sum((v.open_fees for v in views), ZERO),
                   q4((equity - start) / start * 100) if start else ZERO, views, latest)


def _since(window: str | None, now: dt.datetime | None = None) -> dt.datetime | None:
    key = (window or "all").lower()
    if key not in WINDOWS:
        raise InvalidInput(f"Window must be one of {', '.join(WINDOWS)}.", field="window")
    days = WINDOWS[key]
    return None if days is None else (now or utcnow()) - dt.timedelta(days=days)


def trades(account: PaperAccount, window: str | None = "all", limit: int | None = None) -> list[Trade]:
    """Closed round trips that ended inside the window (newest first)."""
    since = _since(window)
    stmt = select(Trade).where(Trade.account_id == account.id)
    if since is not None:
        stmt = stmt.where(Trade.exit_time >= since)
    stmt = stmt.order_by(Trade.exit_time.desc(), Trade.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def trade_stats(account: PaperAccount, window: str | None = "all") -> dict:
    since = _since(window)
    stmt = select(func.count(Trade.id), func.sum(Trade.pnl),
                  func.sum(case((Trade.pnl > 0, 1), else_=0))).where(Trade.account_id == account.id)
    if since is not None:
        stmt = stmt.where(Trade.exit_time >= since)
    n, total, wins = db.session.execute(stmt).one()
    return {"trades": n or 0, "pnl": total or ZERO, "wins": int(wins or 0),
            "win_rate": (int(wins or 0) / n) if n else None}


def equity_series(account: PaperAccount, window: str | None = "all") -> list[dict]:
    """Daily equity (after each close) inside the window, oldest first."""
    since = _since(window)
    stmt = select(EquitySnapshot).where(EquitySnapshot.account_id == account.id)
    if since is not None:
        stmt = stmt.where(EquitySnapshot.session >= since.date())
    return [{"session": s.session, "equity": s.equity, "cash": s.cash, "positions_value": s.positions_value}
            for s in db.session.scalars(stmt.order_by(EquitySnapshot.session))]


def orders(account: PaperAccount, live: bool = True, limit: int = 100) -> list[Order]:
    stmt = select(Order).where(Order.account_id == account.id)
    stmt = stmt.where(Order.status.in_(LIVE_STATUSES)) if live else stmt.where(Order.status.not_in(LIVE_STATUSES))
    return list(db.session.scalars(stmt.order_by(Order.id.desc()).limit(limit)))


def recent_fills(account: PaperAccount, limit: int = 20) -> list[Fill]:
    return list(db.session.scalars(select(Fill).where(Fill.account_id == account.id)
                                   .order_by(Fill.id.desc()).limit(limit)))


def search_symbols(q: str, limit: int = 10) -> list[tuple[str, str]]:
    """Ticket suggestions: the market domain's symbol search (symbol prefix, then name)."""
    from app.market.queries import search_stocks

    return [(st.symbol, st.name) for st in search_stocks(q, limit=limit)]
