"""The fills engine: an in-memory book per locked account (cash, positions, marks), the
fill price rule, the side and money checks, applying one fill, and the bulk write of
everything the books did (fills, trades, positions, orders, account cash by
compare-and-swap). Callers lock the accounts first (:func:`app.paper.common.lock_accounts`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, bindparam, delete, insert, select, update

from app.errors import Conflict
from app.extensions import db
from app.models.market import Snapshot
from app.models.paper import ROLE_CLOSE, ROLE_STOP_LOSS, ROLE_TAKE_PROFIT, Fill, Order, PaperAccount, Position, Trade
from app.paper.common import BUY_SIDES, SHORT_MAINTENANCE, SHORT_MARGIN, ZERO, q4
from app.paper.valuation import mark


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


def load_books(accounts: dict[int, PaperAccount]) -> dict[int, Book]:
    """A book per (locked) account with its positions marked at the snapshot prices."""
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
            book.marks[r.stock_id] = mark(r.price)
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


def check_side(book: Book, side: str, qty: int, stock_id: int, symbol: str) -> str | None:
    """Why this side/quantity is impossible for the account's position (None: it is fine)."""
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


def check_money(book: Book, side: str, qty: int, price: Decimal) -> str | None:
    """Why the account cannot afford this entry (None: it can; exits never need money)."""
    if side not in ("buy", "short"):
        return None
    fee = book.account.commission
    need = qty * price + fee if side == "buy" else SHORT_MARGIN * qty * price + fee
    bp = book.buying_power()
    if need > bp:
        return f"Insufficient buying power: this order needs ${q4(need):,.2f}, you have ${max(q4(bp), ZERO):,.2f}."
    return None


def execute(book: Book, order: dict, market: Decimal, now: dt.datetime, symbol: str = "") -> str | None:
    """Apply one fill to the book (in memory). Returns a rejection reason or None."""
    side, stock_id = order["side"], order["stock_id"]
    qty = int(order["qty"])
    pos = book.positions.get(stock_id)
    if order.get("role") in (ROLE_TAKE_PROFIT, ROLE_STOP_LOSS, ROLE_CLOSE):
        held = (pos.qty if pos else 0) * (1 if side == "sell" else -1)
        if held <= 0:
            return "The position was already closed."
        qty = min(qty, held)
    reason = check_side(book, side, qty, stock_id, symbol or f"#{stock_id}")
    if reason:
        return reason
    price = fill_price(side, market, book.slip, order.get("limit_price"))
    reason = check_money(book, side, qty, price)
    if reason:
        return reason
    fee = Decimal(book.account.commission)
    if pos is None:
        pos = book.positions[stock_id] = PosState(stock_id)
    pos.changed = True
    book.marks.setdefault(stock_id, market)
    fill = {"order_id": order["id"], "account_id": book.account.id, "stock_id": stock_id, "side": side,
            "qty": qty, "price": price, "market_price": market, "slippage": q4(abs(price - market) * qty),
            "commission": fee, "ts": now}
    book.fills.append(fill)
    signed = qty if side in BUY_SIDES else -qty
    book.cash += (-signed) * price - fee
    book.commissions += fee
    if side in ("buy", "short"):
        _open_or_add(pos, order, signed, qty, price, fee, now)
    else:
        _reduce(book, pos, order, fill, now)
    order["_filled_qty"] = qty
    order["_fill_price"] = price
    return None


def _open_or_add(pos: PosState, order: dict, signed: int, qty: int, price: Decimal, fee: Decimal,
                 now: dt.datetime) -> None:
    if pos.qty == 0:
        pos.opened_at, pos.entry_order_id, pos.stop_price = now, order["id"], None
    pos.qty += signed
    pos.cost_basis += qty * price
    pos.open_fees += fee
    if order.get("stop_loss") is not None:
        pos.stop_price = order["stop_loss"]


def _reduce(book: Book, pos: PosState, order: dict, fill: dict, now: dt.datetime) -> None:
    """Reduce or close: realise a trade for the closed shares."""
    side, qty, price, fee = fill["side"], fill["qty"], fill["price"], fill["commission"]
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
        "account_id": book.account.id, "stock_id": fill["stock_id"], "side": "long" if side == "sell" else "short",
        "qty": qty, "entry_price": entry_price, "exit_price": price, "entry_time": pos.opened_at or now,
        "exit_time": now, "fees": entry_fees + fee, "pnl": pnl,
        "pnl_pct": q4(pnl / basis * 100) if basis else ZERO, "r_multiple": r_multiple,
        "holding_seconds": int((now - (pos.opened_at or now)).total_seconds()),
        "entry_order_id": pos.entry_order_id, "exit_order_id": order["id"], "_fill": fill,
    })
    book.realised += pnl
    pos.qty += qty if side == "cover" else -qty
    pos.cost_basis -= basis
    pos.open_fees -= entry_fees


def persist(books: dict[int, Book], order_updates: list[dict], now: dt.datetime) -> None:
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
    _persist_positions(books, now)
    if order_updates:
        db.session.execute(update(Order), order_updates)
    _persist_cash(books)


def _persist_positions(books: dict[int, Book], now: dt.datetime) -> None:
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


def _persist_cash(books: dict[int, Book]) -> None:
    """Cash, realised P&L and fees by compare-and-swap on the version read under the lock."""
    rows = [{"b_id": b.account.id, "b_version": b.version, "cash": b.cash, "realised_pnl": b.realised,
             "commissions_paid": b.commissions, "version": b.version + 1} for b in books.values()]
    if not rows:
        return
    t = PaperAccount.__table__
    stmt = (update(t).where(and_(t.c.id == bindparam("b_id"), t.c.version == bindparam("b_version")))
            .values(cash=bindparam("cash"), realised_pnl=bindparam("realised_pnl"),
                    commissions_paid=bindparam("commissions_paid"), version=bindparam("version")))
    result = db.session.connection().execute(stmt, rows)
    dialect = db.session.get_bind().dialect
    if (len(rows) == 1 or dialect.supports_sane_multi_rowcount) and result.rowcount not in (-1, len(rows)):
        raise Conflict("The account changed while the order was processed; please try again.")
