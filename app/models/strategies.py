"""Strategies, their backtests, ratings, unique views and the cached leaderboard.

Only :mod:`app.strategies.services` (and the ranking job in :mod:`app.strategies.queries`)
writes these tables. Counters (clones, viewers, ratings) are SQL increments in the same
transaction as the row they count, and a CHECK keeps them from ever going negative.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db

# PRODUCT.md section 5
CATEGORIES = ("momentum", "mean_reversion", "breakout", "swing", "day_trading", "trend_following", "value", "custom")
VISIBILITIES = ("private", "unlisted", "public")
DRAFT, BACKTESTED, TRACKING, ARCHIVED = "draft", "backtested", "tracking", "archived"
STATUSES = (DRAFT, BACKTESTED, TRACKING, ARCHIVED)
# the leaderboard: overall + 6 strategy categories + rookies = 8
BOARD_CATEGORIES = ("overall", "momentum", "mean_reversion", "breakout", "swing", "day_trading",
                    "trend_following", "rookies")
TIMEFRAMES = ("daily", "weekly", "monthly", "all_time")


class Strategy(db.Model):
    __tablename__ = "strategies"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20), default="custom")
    universe_kind: Mapped[str] = mapped_column(String(12), default="symbols")  # symbols, watchlist, screen
    universe: Mapped[str] = mapped_column(Text, default="")  # comma-separated symbols (kind symbols; else last seen)
    watchlist_id: Mapped[int | None] = mapped_column(ForeignKey("watchlists.id", ondelete="SET NULL"))
    screen_id: Mapped[int | None] = mapped_column(ForeignKey("saved_screens.id", ondelete="SET NULL"))
    entry_rule: Mapped[str] = mapped_column(Text)
    exit_rule: Mapped[str] = mapped_column(Text)
    sizing_pct: Mapped[float] = mapped_column(Double, default=10.0)  # % of equity per position
    stop_loss_pct: Mapped[float | None] = mapped_column(Double)
    take_profit_pct: Mapped[float | None] = mapped_column(Double)
    # what backtests and the forward chart compare against: SPY, QQQ, IWM or "sector"
    # (the sector ETF of the universe) -- app.market.instruments.BENCHMARKS
    benchmark: Mapped[str] = mapped_column(String(10), default="SPY", server_default="SPY")
    visibility: Mapped[str] = mapped_column(String(10), default="private")
    status: Mapped[str] = mapped_column(String(12), default=DRAFT, index=True)
    paper_account_id: Mapped[int | None] = mapped_column(ForeignKey("paper_accounts.id", ondelete="SET NULL"))
    tracking_started_at: Mapped[datetime | None]
    cloned_from_id: Mapped[int | None] = mapped_column(ForeignKey("strategies.id", ondelete="SET NULL"))
    clones_count: Mapped[int] = mapped_column(Integer, default=0)
    viewers_count: Mapped[int] = mapped_column(Integer, default=0)
    ratings_count: Mapped[int] = mapped_column(Integer, default=0)
    ratings_sum: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner = relationship("User")
    paper_account = relationship("PaperAccount")
    watchlist = relationship("Watchlist")
    screen = relationship("SavedScreen")
    cloned_from = relationship("Strategy", remote_side=[id])

    __table_args__ = (
        # a second clone by the same user returns the first (and a race cannot make two)
        UniqueConstraint("owner_id", "cloned_from_id"),
        CheckConstraint("clones_count >= 0", name="clones_nonneg"),
        CheckConstraint("viewers_count >= 0", name="viewers_nonneg"),
        CheckConstraint("ratings_count >= 0", name="ratings_nonneg"),
        CheckConstraint("sizing_pct > 0 AND sizing_pct <= 100", name="sizing_range"),
        Index("ix_strategies_visibility_status", "visibility", "status"),
    )

    @property
    def symbols(self) -> list[str]:
        return [s for s in (self.universe or "").replace(" ", ",").split(",") if s]

    @property
    def average_rating(self) -> float | None:
        return self.ratings_sum / self.ratings_count if self.ratings_count else None


class Backtest(db.Model):
    __tablename__ = "strategy_backtests"

    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategies.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued, running, succeeded, failed
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    starting_capital: Mapped[float] = mapped_column(Double, default=100000.0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # rules, sizing... at run time
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    equity: Mapped[list | None] = mapped_column(JSON)  # [[iso date, equity, benchmark], ...]
    trades: Mapped[list | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]

    strategy = relationship("Strategy")
    job_run = relationship("JobRun")


class StrategyRating(db.Model):
    __tablename__ = "strategy_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    stars: Mapped[int] = mapped_column(Integer)
    review: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user = relationship("User")

    __table_args__ = (
        UniqueConstraint("strategy_id", "user_id"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
    )


class StrategyView(db.Model):
    """One row per signed-in viewer (never the owner) of a strategy: the day of their first view."""

    __tablename__ = "strategy_views"

    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategies.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class LeaderboardEntry(db.Model):
    """The cached ranking: rebuilt by a job, read by the leaderboard page."""

    __tablename__ = "leaderboard_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    category: Mapped[str] = mapped_column(String(20))
    timeframe: Mapped[str] = mapped_column(String(10))
    rank: Mapped[int] = mapped_column(Integer)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    owner_name: Mapped[str] = mapped_column(String(60))
    score: Mapped[float] = mapped_column(Numeric(6, 2))
    components: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    built_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("category", "timeframe", "rank"),
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
    )
