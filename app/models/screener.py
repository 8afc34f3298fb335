"""Watchlists and saved screens (with their tracked membership).

Other domains (alerts, strategies) read these through the service functions, never by
writing the rows themselves:

* :func:`app.watchlists.services.watchlist_stock_ids` -- the stock ids of one owned list;
* :func:`app.screener.services.screen_member_ids` / ``screen_members`` -- the current
  members of a saved screen (as tracked by the 10-minute cycle);
* :func:`app.screener.services.membership_changes` -- who entered / left since a time;
* :func:`app.screener.services.evaluate_screen` -- run a saved screen's definition now.

Target, stop and "price when added" are user-facing prices: ``Numeric`` like the ledger.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db

PRICE = Numeric(18, 4)


class Watchlist(db.Model):
    __tablename__ = "watchlists"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    # bumped by every write to the list or its items: part of the live view's ETag
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner = relationship("User")
    items: Mapped[list[WatchlistItem]] = relationship(
        back_populates="watchlist", cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    def __repr__(self) -> str:
        return f"<Watchlist {self.id} {self.name!r}>"


class WatchlistItem(db.Model):
    __tablename__ = "watchlist_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watchlists.id", ondelete="CASCADE"))
    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id", ondelete="CASCADE"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))
    target_price: Mapped[Decimal | None] = mapped_column(PRICE)
    stop_price: Mapped[Decimal | None] = mapped_column(PRICE)
    # the snapshot price when the symbol was added (set by the service, never by a client)
    price_added: Mapped[Decimal | None] = mapped_column(PRICE)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    watchlist: Mapped[Watchlist] = relationship(back_populates="items")
    stock = relationship("Stock")

    __table_args__ = (UniqueConstraint("watchlist_id", "stock_id"),)


class SavedScreen(db.Model):
    """A named screen definition (see :class:`app.screener.definition.ScreenDefinition`,
    stored as its ``to_dict()``)."""

    __tablename__ = "saved_screens"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    definition: Mapped[dict] = mapped_column(JSON)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    clones: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    cloned_from_id: Mapped[int | None] = mapped_column(ForeignKey("saved_screens.id", ondelete="SET NULL"))
    # when the 10-minute cycle last recorded the membership (None: never tracked yet)
    membership_as_of: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner = relationship("User")

    __table_args__ = (
        UniqueConstraint("owner_id", "name"),
        CheckConstraint("clones >= 0", name="clones_not_negative"),
        Index("ix_saved_screens_public", "is_public", "updated_at"),
    )

    def __repr__(self) -> str:
        return f"<SavedScreen {self.id} {self.name!r}>"


class ScreenMembership(db.Model):
    """One stay of a stock in a saved screen: ``entered_at`` .. ``left_at`` (None while it is
    still a member). At most one open stay per (screen, stock)."""

    __tablename__ = "screen_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    screen_id: Mapped[int] = mapped_column(ForeignKey("saved_screens.id", ondelete="CASCADE"))
    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id", ondelete="CASCADE"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None]

    stock = relationship("Stock")

    __table_args__ = (
        Index("ix_screen_memberships_screen_left", "screen_id", "left_at"),
        Index("ux_screen_memberships_open", "screen_id", "stock_id", unique=True,
              sqlite_where=text("left_at IS NULL"), postgresql_where=text("left_at IS NULL")),
    )
