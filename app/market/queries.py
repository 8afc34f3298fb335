"""Reads for the stock pages: symbol search, stock detail, chart series."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import case, func, or_, select

from app.extensions import db
from app.market import calendar as mcal
from app.market import indicators as ind
from app.models.market import Bar, Snapshot, Stock, StockIndicator

RANGES = {
    # range: (interval, calendar days shown)
    "1D": ("10m", 1), "1W": ("10m", 7), "1M": ("1d", 31), "3M": ("1d", 92),
    "1Y": ("1d", 366), "5Y": ("1d", 5 * 366),
}
SMA_PERIODS = (20, 50, 200)


def normalise_symbol(symbol: str) -> str:
    return (symbol or "").strip().upper()[:10]


def search_stocks(q: str, limit: int = 8) -> list[Stock]:
    """Symbols starting with ``q`` first (exact match on top), then names containing it."""
    q = (q or "").strip()[:40]
    if not q:
        return []
    up = q.upper()
    like = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rank = case((Stock.symbol == up, 0), (Stock.symbol.startswith(up, autoescape=True), 1), else_=2)
    stmt = (select(Stock).where(Stock.active.is_(True),
                                or_(Stock.symbol.startswith(up, autoescape=True),
                                    func.lower(Stock.name).like(f"%{like.lower()}%", escape="\\")))
            .order_by(rank, Stock.symbol).limit(limit))
    return list(db.session.scalars(stmt))


@dataclass
class StockView:
    stock: Stock
    snapshot: Snapshot | None
    indicator: StockIndicator | None

    @property
    def week52_position(self) -> int | None:
        """Where the price sits in the 52-week range, in 5 % steps (0..20) for the bar."""
        s = self.snapshot
        if not s or s.week52_high is None or s.week52_low is None or s.week52_high <= s.week52_low:
            return None
        pos = (s.price - s.week52_low) / (s.week52_high - s.week52_low)
        return int(round(min(max(pos, 0.0), 1.0) * 20))

    @property
    def day_position(self) -> int | None:
        s = self.snapshot
        if not s or s.high is None or s.low is None or s.high <= s.low:
            return None
        return int(round(min(max((s.price - s.low) / (s.high - s.low), 0.0), 1.0) * 20))

    @property
    def market_open(self) -> bool:
        return mcal.is_open()


def stock_view(symbol: str) -> StockView | None:
    sym = normalise_symbol(symbol)
    stock = db.session.scalar(select(Stock).where(Stock.symbol == sym))
    if stock is None:
        return None
    return StockView(stock, db.session.get(Snapshot, stock.id), db.session.get(StockIndicator, stock.id))


def _bars(stock_id: int, interval: str, since: dt.datetime | None = None) -> pd.DataFrame:
    q = select(Bar.ts, Bar.open, Bar.high, Bar.low, Bar.close, Bar.volume).where(
        Bar.stock_id == stock_id, Bar.interval == interval)
    if since is not None:
        q = q.where(Bar.ts >= since)
    rows = db.session.execute(q.order_by(Bar.ts)).all()
    df = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close", "volume"])
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    return df


def _chart_time(ts: pd.Series, intraday: bool) -> list:
    if not intraday:
        return ts.dt.strftime("%Y-%m-%d").tolist()
    # lightweight-charts draws UTC: shift so the axis reads New York wall-clock time
    local = ts.dt.tz_convert(mcal.ET).dt.tz_localize(None)
    return (local.astype("int64") // 10**9).astype(int).tolist()


def chart_data(stock: Stock, range_: str, simulated: bool) -> dict:
    """Candles, volume and SMA overlays for ``range_`` (one of :data:`RANGES`)."""
    interval, days = RANGES[range_]
    latest = db.session.scalar(select(func.max(Bar.ts)).where(Bar.stock_id == stock.id, Bar.interval == interval))
    if latest is None and interval == "10m":  # no intraday bars yet: fall back to daily
        interval, days = "1d", 31
        latest = db.session.scalar(select(func.max(Bar.ts)).where(Bar.stock_id == stock.id, Bar.interval == "1d"))
    intraday = interval != "1d"
    if latest is None:
        bars = _bars(stock.id, interval, dt.datetime.now(dt.UTC))
        start = None
    else:
        latest = pd.Timestamp(latest).tz_convert("UTC")
        if range_ == "1D":
            day = latest.tz_convert(mcal.ET).normalize().tz_convert("UTC")
            start = day
        else:
            start = latest - pd.Timedelta(days=days)
        # extra history so the 200-bar SMA is defined from the first bar shown
        warm = pd.Timedelta(days=300) if not intraday else pd.Timedelta(days=10)
        bars = _bars(stock.id, interval, (start - warm).to_pydatetime())
    close = bars["close"].to_numpy(dtype=float)
    smas = {n: ind.sma(close, n) if len(close) else np.array([]) for n in SMA_PERIODS}
    if start is not None:
        shown = (bars["ts"] >= start).to_numpy()
    else:
        shown = np.ones(len(bars), dtype=bool)
    b = bars.loc[shown]
    t = _chart_time(b["ts"], intraday)
    candles = [{"time": tt, "open": o, "high": h, "low": lo, "close": c}
               for tt, o, h, lo, c in zip(t, b["open"], b["high"], b["low"], b["close"], strict=True)]
    volume = [{"time": tt, "value": int(v), "up": bool(c >= o)}
              for tt, v, o, c in zip(t, b["volume"], b["open"], b["close"], strict=True)]
    overlays = {}
    for n, series in smas.items():
        vals = series[shown] if len(series) else series
        pts = [{"time": tt, "value": round(float(v), 4)} for tt, v in zip(t, vals, strict=True) if np.isfinite(v)]
        if pts:
            overlays[f"sma{n}"] = pts
    return {
        "symbol": stock.symbol, "range": range_, "interval": interval, "intraday": intraday,
        "timezone": "America/New_York", "simulated": simulated,
        "candles": candles, "volume": volume, "sma": overlays,
        "as_of": b["ts"].iloc[-1].isoformat() if len(b) else None,
    }


def market_strip() -> list[dict]:
    """SPY, QQQ, IWM and DIA with their last price and change (those the universe has)."""
    from app.market.instruments import STRIP_SYMBOLS

    rows = db.session.execute(
        select(Stock.symbol, Stock.name, Snapshot.price, Snapshot.change_pct, Snapshot.source)
        .join(Snapshot, Snapshot.stock_id == Stock.id).where(Stock.symbol.in_(STRIP_SYMBOLS))).all()
    by = {r.symbol: r for r in rows}
    return [{"symbol": s, "name": by[s].name, "price": by[s].price, "change_pct": by[s].change_pct,
             "simulated": by[s].source == "simulated"} for s in STRIP_SYMBOLS if s in by]
