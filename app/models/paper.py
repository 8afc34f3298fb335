"""Paper-trading ledger: accounts, orders, fills, positions, closed trades, daily equity.

Money and prices are ``Numeric`` (Decimal) with 4 decimal places; quantities are whole
shares. Only the :mod:`app.paper` package writes these tables, through the API of
:mod:`app.paper.services` (the user API for a person's accounts, the system API for
managed accounts).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db

MONEY = Numeric(20, 4)
PRICE = Numeric(18, 4)

SIDES = ("buy", "sell", "short", "cover")
ORDER_TYPES = ("market", "limit", "stop", "stop_limit")
TIFS = ("day", "gtc")
PENDING, OPEN, FILLED, CANCELLED, REJECTED, EXPIRED = (
    "pending", "open", "filled", "cancelled", "rejected", "expired")
ORDER_STATUSES = (PENDING, OPEN, FILLED, CANCELLED, REJECTED, EXPIRED)
LIVE_STATUSES = (PENDING, OPEN)
ROLE_ENTRY, ROLE_TAKE_PROFIT, ROLE_STOP_LOSS, ROLE_CLOSE = "entry", "take_profit", "stop_loss", "close"


class PaperAccount(db.Model):
    __tablename__ = "paper_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    starting_balance: Mapped[Decimal] = mapped_column(MONEY)
    cash: Mapped[Decimal] = mapped_column(MONEY)
    realised_pnl: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    commissions_paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    allow_short: Mapped[bool] = mapped_column(Boolean, default=False)
    slippage_bps: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("5"))
    commission: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))  # per order
    position_cap_pct: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("25"))
    # run by a strategy (forward tracking): traded only through the service API, never by hand,
    # not listed on /paper and not counted against the plan's paper-account limit
    managed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # bumped by every ledger write: the lock taken on SQLite, and the live-region version
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reset_at: Mapped[datetime | None]

    owner = relationship("User")

    __table_args__ = (UniqueConstraint("owner_id", "name"),)


class Order(db.Model):
    __tablename__ = "paper_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("paper_accounts.id", ondelete="CASCADE"))
    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id"), index=True)
    side: Mapped[str] = mapped_column(String(5))
    qty: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(10))
    limit_price: Mapped[Decimal | None] = mapped_column(PRICE)
    stop_price: Mapped[Decimal | None] = mapped_column(PRICE)
    stop_triggered: Mapped[bool] = mapped_column(Boolean, default=False)  # stop-limit armed
    tif: Mapped[str] = mapped_column(String(3), default="day")
    session: Mapped[date | None] = mapped_column(Date)  # the session a day order is good for
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    reject_reason: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(12), default=ROLE_ENTRY)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("paper_orders.id", ondelete="CASCADE"), index=True)
    oco_group: Mapped[int | None] = mapped_column(Integer, index=True)
    take_profit: Mapped[Decimal | None] = mapped_column(PRICE)
    stop_loss: Mapped[Decimal | None] = mapped_column(PRICE)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20), default="manual")  # manual, strategy, copy
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    filled_at: Mapped[datetime | None]
    fill_price: Mapped[Decimal | None] = mapped_column(PRICE)

    account: Mapped[PaperAccount] = relationship()
    stock = relationship("Stock")

    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key"),
        Index("ix_paper_orders_status_account", "status", "account_id"),
        CheckConstraint("qty > 0", name="qty_positive"),
    )

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES


class Fill(db.Model):
    __tablename__ = "paper_fills"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("paper_orders.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("paper_accounts.id", ondelete="CASCADE"), index=True)
    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id"))
    side: Mapped[str] = mapped_column(String(5))
    qty: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(PRICE)  # what the trader got
    market_price: Mapped[Decimal] = mapped_column(PRICE)  # the snapshot price it came from
    slippage: Mapped[Decimal] = mapped_column(MONEY)  # cost of slippage for the whole fill (>= 0)
    commission: Mapped[Decimal] = mapped_column(MONEY)
    ts: Mapped[datetime] = mapped_column(default=utcnow)


class Position(db.Model):
    __tablename__ = "paper_positions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("paper_accounts.id", ondelete="CASCADE"))
    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id"))
    qty: Mapped[int] = mapped_column(Integer)  # signed: > 0 long, < 0 short
    avg_price: Mapped[Decimal] = mapped_column(PRICE)  # cost_basis / |qty|, for display and R
    cost_basis: Mapped[Decimal] = mapped_column(MONEY)  # sum of |qty| x price of the open shares (exact)
    open_fees: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))  # entry commissions not yet realised
    stop_price: Mapped[Decimal | None] = mapped_column(PRICE)  # for the R-multiple
    entry_order_id: Mapped[int | None] = mapped_column(ForeignKey("paper_orders.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    stock = relationship("Stock")

    __table_args__ = (UniqueConstraint("account_id", "stock_id"),)


class Trade(db.Model):
    """A closed round trip (or the closed part of a position)."""

    __tablename__ = "paper_trades"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("paper_accounts.id", ondelete="CASCADE"))
    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id"))
    side: Mapped[str] = mapped_column(String(5))  # long / short
    qty: Mapped[int] = mapped_column(Integer)
    entry_price: Mapped[Decimal] = mapped_column(PRICE)
    exit_price: Mapped[Decimal] = mapped_column(PRICE)
    entry_time: Mapped[datetime]
    exit_time: Mapped[datetime]
    fees: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    pnl: Mapped[Decimal] = mapped_column(MONEY)  # net of fees
    pnl_pct: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    r_multiple: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    holding_seconds: Mapped[int] = mapped_column(BigInteger)
    entry_order_id: Mapped[int | None] = mapped_column(ForeignKey("paper_orders.id", ondelete="SET NULL"))
    exit_order_id: Mapped[int | None] = mapped_column(ForeignKey("paper_orders.id", ondelete="SET NULL"))
    exit_fill_id: Mapped[int | None] = mapped_column(ForeignKey("paper_fills.id", ondelete="SET NULL"))

    stock = relationship("Stock")

    __table_args__ = (Index("ix_paper_trades_account_exit", "account_id", "exit_time"),)


class EquitySnapshot(db.Model):
    __tablename__ = "paper_equity_snapshots"

    account_id: Mapped[int] = mapped_column(ForeignKey("paper_accounts.id", ondelete="CASCADE"), primary_key=True)
    session: Mapped[date] = mapped_column(Date, primary_key=True)
    cash: Mapped[Decimal] = mapped_column(MONEY)
    positions_value: Mapped[Decimal] = mapped_column(MONEY)
    equity: Mapped[Decimal] = mapped_column(MONEY)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
