"""The matching cycle: the 1-minute check of every open order against the snapshot prices
(one query, one numpy pass, one transaction of bulk writes), the OCO/bracket cascade,
day-order expiry, and the end-of-day equity snapshots."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import Double, cast, select, update

from app.database import utcnow
from app.extensions import db
from app.models.market import Snapshot, Stock
from app.models.paper import (
    CANCELLED,
    EXPIRED,
    FILLED,
    LIVE_STATUSES,
    OPEN,
    PENDING,
    REJECTED,
    ROLE_ENTRY,
    ROLE_STOP_LOSS,
    ROLE_TAKE_PROFIT,
    EquitySnapshot,
    Order,
    PaperAccount,
)
from app.paper.book import execute, load_books, persist
from app.paper.common import BUY_SIDES, clock, dec, lock_accounts, max_quote_age, session_for
from app.paper.valuation import account_values

_NOTHING = {"checked": 0, "filled": 0, "rejected": 0, "cancelled": 0, "armed": 0}


def _order_rows(ids: list[int]) -> list[dict]:
    rows = db.session.execute(
        select(Order.id, Order.account_id, Order.stock_id, Order.side, Order.qty, Order.type, Order.limit_price,
               Order.stop_price, Order.role, Order.oco_group, Order.stop_loss, Order.parent_id, Order.status,
               Stock.symbol, Snapshot.price)
        .join(Stock, Stock.id == Order.stock_id).outerjoin(Snapshot, Snapshot.stock_id == Order.stock_id)
        .where(Order.id.in_(ids))
    ).mappings().all()
    return [dict(r) for r in rows]


def process(candidate_ids: list[int], now: dt.datetime, triggered_only: bool = False,
            accounts: dict[int, Any] | None = None, commit: bool = True) -> dict:
    """Execute the given open orders whose trigger holds at the current snapshot (all of
    them when they were selected by the vectorised pass). One transaction: lock the
    accounts, fill in memory, bulk write, commit."""
    stats: dict[str, Any] = {"filled": 0, "rejected": 0, "cancelled": 0, "reasons": {}}
    if not candidate_ids:
        return stats
    rows = _order_rows(candidate_ids)
    if accounts is None:
        accounts = lock_accounts({r["account_id"] for r in rows})
    # re-read status under the lock: a cancel may have won the race
    status = dict(db.session.execute(select(Order.id, Order.status).where(Order.id.in_(candidate_ids))).all())
    rows = [r for r in rows if status.get(r["id"]) == OPEN and r["price"] is not None]
    if not triggered_only:
        rows = [r for r in rows if _triggered_one(r)]
    books = load_books(accounts)
    # stop-losses first inside an OCO group (conservative when both legs trigger)
    rows.sort(key=lambda r: (r["account_id"], 0 if r["role"] == ROLE_STOP_LOSS else 1, r["id"]))
    updates, outcome = _fill_rows(books, rows, now, stats)
    persist(books, updates, now)
    _cascade(outcome, {u["id"] for u in updates}, now, stats)
    if commit:
        db.session.commit()
    return stats


def _fill_rows(books: dict, rows: list[dict], now: dt.datetime, stats: dict) -> tuple[list[dict], dict]:
    """Fill the triggered rows in the books; returns the order updates and what the
    bracket cascade needs (filled OCO groups, filled and dead entries)."""
    updates: list[dict] = []
    outcome: dict[str, Any] = {"groups": set(), "filled_entries": [], "dead_entries": []}
    for r in rows:
        if r["oco_group"] is not None and r["oco_group"] in outcome["groups"]:
            updates.append({"id": r["id"], "status": CANCELLED, "updated_at": now})
            stats["cancelled"] += 1
            continue
        book = books[r["account_id"]]
        market = dec(r["price"])
        book.marks[r["stock_id"]] = market
        reason = execute(book, r, market, now, r["symbol"])
        if reason:
            stats["rejected"] += 1
            stats["reasons"][r["id"]] = reason
            updates.append({"id": r["id"], "status": REJECTED if r["role"] not in (ROLE_TAKE_PROFIT, ROLE_STOP_LOSS)
                            else CANCELLED, "reject_reason": reason[:300], "updated_at": now})
            if r["role"] == ROLE_ENTRY:
                outcome["dead_entries"].append(r["id"])
            continue
        stats["filled"] += 1
        updates.append({"id": r["id"], "status": FILLED, "filled_at": now, "fill_price": r["_fill_price"],
                        "updated_at": now})
        if r["oco_group"] is not None:
            outcome["groups"].add(r["oco_group"])
        if r["role"] == ROLE_ENTRY:
            outcome["filled_entries"].append(r["id"])
    return updates, outcome


def _cascade(outcome: dict, done: set[int], now: dt.datetime, stats: dict) -> None:
    """OCO: a filled leg cancels its live siblings; a filled entry opens its pending legs,
    a rejected one cancels them."""
    opts = {"synchronize_session": False}
    if outcome["groups"]:
        res = db.session.execute(update(Order).where(Order.oco_group.in_(outcome["groups"]),
                                                     Order.status.in_(LIVE_STATUSES),
                                                     Order.id.not_in(done) if done else True)
                                 .values(status=CANCELLED, updated_at=now), execution_options=opts)
        stats["cancelled"] += res.rowcount or 0
    if outcome["filled_entries"]:
        db.session.execute(update(Order).where(Order.parent_id.in_(outcome["filled_entries"]), Order.status == PENDING)
                           .values(status=OPEN, updated_at=now), execution_options=opts)
    if outcome["dead_entries"]:
        db.session.execute(update(Order).where(Order.parent_id.in_(outcome["dead_entries"]), Order.status == PENDING)
                           .values(status=CANCELLED, updated_at=now), execution_options=opts)


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
    if not clock().is_open(now):
        return {**_NOTHING, "expired": 0}
    expired = expire_day_orders(session_for(now), now)
    stmt = (select(Order.id, Order.side, Order.type, cast(Snapshot.price, Double), cast(Order.limit_price, Double),
                   cast(Order.stop_price, Double), Order.stop_triggered, Snapshot.as_of)
            .join(Snapshot, Snapshot.stock_id == Order.stock_id).where(Order.status == OPEN))
    if stock_ids is not None:
        ids = list(stock_ids)
        if not ids:
            return {**_NOTHING, "expired": expired}
        if len(ids) < 30000:
            stmt = stmt.where(Order.stock_id.in_(ids))
    rows = db.session.execute(stmt).all()
    result = {"checked": len(rows), "armed": 0, "expired": expired}
    if not rows:
        return {**result, "filled": 0, "rejected": 0, "cancelled": 0}
    oid, fill, newly = _triggered(rows, now)
    if newly.any():
        db.session.execute(update(Order), [{"id": int(i), "stop_triggered": True} for i in oid[newly]])
        db.session.commit()
        result["armed"] = int(newly.sum())
    stats = process([int(i) for i in oid[fill]], now, triggered_only=True)
    return {**result, **stats}


def _triggered(rows: list, now: dt.datetime) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order ids, fill now, stop-limit newly armed) for the loaded rows; a stale quote
    neither fills nor arms."""
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
    return oid, fill & fresh, newly & fresh


def snapshot_equity(session: dt.date, now: dt.datetime | None = None) -> int:
    """After the close: one EquitySnapshot per account for ``session`` (marked by
    :func:`app.paper.valuation.account_values`, the account page's rule; idempotent), and
    day orders for that session expire."""
    now = now or utcnow()
    expire_day_orders(session + dt.timedelta(days=1), now)
    pv = account_values()
    rows = []
    for aid, cash in db.session.execute(select(PaperAccount.id, PaperAccount.cash)).all():
        value = pv.get(aid, dec(0))
        rows.append({"account_id": aid, "session": session, "cash": cash, "positions_value": value,
                     "equity": cash + value, "created_at": now})
    if not rows:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
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
