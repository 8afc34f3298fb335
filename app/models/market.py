"""Market data: stocks, their current snapshot and indicators, bar history, scanner runs,
and the proxy pool.

Prices here are analytics data (floats, DOUBLE PRECISION), read into numpy arrays by the
screener and the indicators; the paper-trading ledger keeps its own Decimal prices.
Timestamps are UTC-aware (``UTCDateTime`` via the ``datetime`` annotation).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db

INTERVALS = ("1d", "10m", "1m")
SCAN_KINDS = ("1m", "10m", "1d")
RUN_RUNNING, RUN_SUCCEEDED, RUN_PARTIAL, RUN_FAILED, RUN_SKIPPED = (
    "running", "succeeded", "partial", "failed", "skipped")


class Stock(db.Model):
    __tablename__ = "stocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    symbol: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    exchange: Mapped[str | None] = mapped_column(String(20), index=True)
    sector: Mapped[str | None] = mapped_column(String(100), index=True)
    industry: Mapped[str | None] = mapped_column(String(100), index=True)
    market_cap: Mapped[float | None] = mapped_column(Double)
    # stock / etf / index (app.market.instruments.ASSET_TYPES)
    asset_type: Mapped[str] = mapped_column(String(10), default="stock", server_default="stock", index=True)
    # fundamentals (the daily fundamentals step): market cap = shares x last price
    shares_outstanding: Mapped[float | None] = mapped_column(Double)
    dividend_yield: Mapped[float | None] = mapped_column(Double)  # percent
    pe_ratio: Mapped[float | None] = mapped_column(Double)
    fundamentals_as_of: Mapped[datetime | None]
    # delisted symbols are deactivated, never deleted (they keep their history)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(), index=True)
    delisted_at: Mapped[datetime | None]
    # a NASDAQ Trader test issue (never scanned)
    test_issue: Mapped[bool] = mapped_column(Boolean, server_default=false())  # no Python default: bulk upserts leave it out
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    snapshot: Mapped["Snapshot | None"] = relationship(back_populates="stock", uselist=False)
    indicator: Mapped["StockIndicator | None"] = relationship(back_populates="stock", uselist=False)

    def __repr__(self) -> str:
        return f"<Stock {self.symbol}>"


class Snapshot(db.Model):
    """The current state of a stock's trading day (one row per stock), written by the
    1-minute scanner. ``prev_*`` keep the values of the previous cycle so conditions
    like "price crosses above 50" can be evaluated."""

    __tablename__ = "snapshots"

    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id", ondelete="CASCADE"), primary_key=True)
    price: Mapped[float] = mapped_column(Double, index=True)
    prev_close: Mapped[float | None] = mapped_column(Double)
    change: Mapped[float | None] = mapped_column(Double)
    change_pct: Mapped[float | None] = mapped_column(Double, index=True)
    open: Mapped[float | None] = mapped_column(Double)
    high: Mapped[float | None] = mapped_column(Double)
    low: Mapped[float | None] = mapped_column(Double)
    volume: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    avg_volume: Mapped[float | None] = mapped_column(Double)
    rel_volume: Mapped[float | None] = mapped_column(Double, index=True)
    gap_pct: Mapped[float | None] = mapped_column(Double)
    week52_high: Mapped[float | None] = mapped_column(Double)
    week52_low: Mapped[float | None] = mapped_column(Double)
    market_cap: Mapped[float | None] = mapped_column(Double)
    session: Mapped[date | None] = mapped_column(Date)
    as_of: Mapped[datetime]  # time of the quote
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(20))
    # the previous cycle's values (for "crosses" conditions)
    prev_price: Mapped[float | None] = mapped_column(Double)
    prev_change_pct: Mapped[float | None] = mapped_column(Double)
    prev_volume: Mapped[int | None] = mapped_column(BigInteger)
    prev_as_of: Mapped[datetime | None]

    stock: Mapped[Stock] = relationship(back_populates="snapshot")


class Bar(db.Model):
    """OHLCV history. Daily bars are stamped at 00:00 UTC of the session date; intraday
    bars at their start. The primary key is the unique (stock, interval, ts) index."""

    __tablename__ = "bars"

    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id", ondelete="CASCADE"), primary_key=True)
    interval: Mapped[str] = mapped_column(String(3), primary_key=True)
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    open: Mapped[float] = mapped_column(Double)
    high: Mapped[float] = mapped_column(Double)
    low: Mapped[float] = mapped_column(Double)
    close: Mapped[float] = mapped_column(Double)
    volume: Mapped[int] = mapped_column(BigInteger)
    # No secondary index: every read and the retention delete go through the primary key
    # (stock, interval, ts), and a second B-tree would nearly halve the ingest rate.


class StockIndicator(db.Model):
    """Latest indicator values per stock (the screener's columns), refreshed every minute
    from the state the daily job leaves (``base_*``, ``sum*``, ``rsi_avg_*``, ``*251``)."""

    __tablename__ = "stock_indicators"

    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id", ondelete="CASCADE"), primary_key=True)
    sma20: Mapped[float | None] = mapped_column(Double)
    sma50: Mapped[float | None] = mapped_column(Double)
    sma200: Mapped[float | None] = mapped_column(Double)
    ema12: Mapped[float | None] = mapped_column(Double)
    ema26: Mapped[float | None] = mapped_column(Double)
    rsi14: Mapped[float | None] = mapped_column(Double, index=True)
    macd: Mapped[float | None] = mapped_column(Double)
    macd_signal: Mapped[float | None] = mapped_column(Double)
    macd_hist: Mapped[float | None] = mapped_column(Double)
    atr14: Mapped[float | None] = mapped_column(Double)
    atr_pct: Mapped[float | None] = mapped_column(Double)
    bb_upper: Mapped[float | None] = mapped_column(Double)
    bb_mid: Mapped[float | None] = mapped_column(Double)
    bb_lower: Mapped[float | None] = mapped_column(Double)
    week52_high: Mapped[float | None] = mapped_column(Double)
    week52_low: Mapped[float | None] = mapped_column(Double)
    week52_high_dist_pct: Mapped[float | None] = mapped_column(Double, index=True)
    week52_low_dist_pct: Mapped[float | None] = mapped_column(Double, index=True)
    rel_volume: Mapped[float | None] = mapped_column(Double, index=True)
    gap_pct: Mapped[float | None] = mapped_column(Double, index=True)
    avg_volume: Mapped[float | None] = mapped_column(Double, index=True)
    # intraday (10-minute job)
    rsi14_10m: Mapped[float | None] = mapped_column(Double)
    sma20_10m: Mapped[float | None] = mapped_column(Double)
    vwap: Mapped[float | None] = mapped_column(Double)
    intraday_as_of: Mapped[datetime | None]
    # state as of the last daily bar, for the O(1) live update
    daily_as_of: Mapped[datetime | None]
    base_close: Mapped[float | None] = mapped_column(Double)
    sum19: Mapped[float | None] = mapped_column(Double)
    sum49: Mapped[float | None] = mapped_column(Double)
    sum199: Mapped[float | None] = mapped_column(Double)
    sumsq19: Mapped[float | None] = mapped_column(Double)
    rsi_avg_gain: Mapped[float | None] = mapped_column(Double)
    rsi_avg_loss: Mapped[float | None] = mapped_column(Double)
    high251: Mapped[float | None] = mapped_column(Double)
    low251: Mapped[float | None] = mapped_column(Double)
    base_ema12: Mapped[float | None] = mapped_column(Double)
    base_ema26: Mapped[float | None] = mapped_column(Double)
    base_macd_signal: Mapped[float | None] = mapped_column(Double)
    base_atr14: Mapped[float | None] = mapped_column(Double)
    live_as_of: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    stock: Mapped[Stock] = relationship(back_populates="indicator")


class ScanRun(db.Model):
    """One scanner cycle (all its chunk jobs), recorded even when it fails."""

    __tablename__ = "scan_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=RUN_RUNNING, index=True)
    session: Mapped[date | None] = mapped_column(Date)
    symbols_asked: Mapped[int] = mapped_column(Integer, default=0)
    symbols_ok: Mapped[int] = mapped_column(Integer, default=0)
    symbols_failed: Mapped[int] = mapped_column(Integer, default=0)
    rows_written: Mapped[int] = mapped_column(BigInteger, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    error_summary: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_scan_runs_kind_started_at", "kind", "started_at"),)

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None or self.started_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ProxyEndpoint(db.Model):
    """A proxy of the shared pool (state used by :mod:`app.market.proxies`)."""

    __tablename__ = "proxy_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(300), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float | None] = mapped_column(Double)
    quarantined_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def display_url(self) -> str:
        """The URL without credentials (never shown or logged)."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
