"""Read models of the ledger: closed trades and their statistics, the daily equity
series, orders and fills of an account, and the ticket's symbol suggestions. Reads only;
callers pass an account they already resolved (owner-scoped or managed)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, select

from app.database import utcnow
from app.errors import InvalidInput
from app.extensions import db
from app.models.paper import LIVE_STATUSES, EquitySnapshot, Fill, Order, PaperAccount, Trade
from app.paper.common import ZERO

WINDOWS = {"1d": 1, "1w": 7, "1m": 31, "3m": 92, "6m": 183, "1y": 366, "all": None}


def since(window: str | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """The start of a named window ("1d" ... "1y"; "all" or None: no start)."""
    key = (window or "all").lower()
    if key not in WINDOWS:
        raise InvalidInput(f"Window must be one of {', '.join(WINDOWS)}.", field="window")
    days = WINDOWS[key]
    return None if days is None else (now or utcnow()) - dt.timedelta(days=days)


def trades(account: PaperAccount, window: str | None = "all", limit: int | None = None) -> list[Trade]:
    """Closed round trips that ended inside the window (newest first)."""
    start = since(window)
    stmt = select(Trade).where(Trade.account_id == account.id)
    if start is not None:
        stmt = stmt.where(Trade.exit_time >= start)
    stmt = stmt.order_by(Trade.exit_time.desc(), Trade.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def trade_stats(account: PaperAccount, window: str | None = "all") -> dict:
    start = since(window)
    stmt = select(func.count(Trade.id), func.sum(Trade.pnl),
                  func.sum(case((Trade.pnl > 0, 1), else_=0))).where(Trade.account_id == account.id)
    if start is not None:
        stmt = stmt.where(Trade.exit_time >= start)
    n, total, wins = db.session.execute(stmt).one()
    return {"trades": n or 0, "pnl": total or ZERO, "wins": int(wins or 0),
            "win_rate": (int(wins or 0) / n) if n else None}


def equity_series(account: PaperAccount, window: str | None = "all") -> list[dict]:
    """Daily equity (after each close) inside the window, oldest first."""
    start = since(window)
    stmt = select(EquitySnapshot).where(EquitySnapshot.account_id == account.id)
    if start is not None:
        stmt = stmt.where(EquitySnapshot.session >= start.date())
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
