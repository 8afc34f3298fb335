"""The daily fundamentals step and market capitalisation.

Once a day (in the daily scan, after the bars) each stock's shares outstanding -- and where
the provider has them its dividend yield and P/E -- are written to ``stocks``; market cap
is shares x last price: every quotes cycle writes it to the snapshot (vectorised, in the
same bulk upsert), and the daily step writes it to the stock (so the screener's default
market-cap sort works before the first quotes cycle too).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, select, update

from app.database import utcnow
from app.extensions import db
from app.market.providers import Provider, ProviderError
from app.models.market import Snapshot, Stock

log = logging.getLogger(__name__)


def shares_of(ids: list[int]) -> pd.Series:
    """Shares outstanding by stock id (NaN when unknown)."""
    rows = db.session.execute(select(Stock.id, Stock.shares_outstanding).where(Stock.id.in_(ids))).all()
    return pd.Series({r[0]: r[1] for r in rows}, dtype=float)


def market_cap(price: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """shares x price; NaN where the share count is unknown."""
    with np.errstate(invalid="ignore"):
        return np.asarray(price, dtype=float) * np.asarray(shares, dtype=float)


def refresh(stocks: pd.DataFrame, provider: Provider) -> int:
    """Fetch and store the fundamentals of ``stocks`` (``stock_id, symbol``), then the
    stocks' and snapshots' market caps. A provider failure is logged, never raised: the
    daily scan's bars matter more."""
    if stocks.empty:
        return 0
    try:
        f = provider.fundamentals(stocks["symbol"].tolist())
    except ProviderError as exc:
        log.warning("fundamentals from %s failed: %s", provider.name, exc)
        return 0
    f = f.merge(stocks, on="symbol", how="inner")
    now = utcnow()
    if not f.empty:
        rows = [{"sid": int(r.stock_id), "shares": _num(r.shares_outstanding), "dy": _num(r.dividend_yield),
                 "pe": _num(r.pe_ratio), "now": now} for r in f.itertuples()]
        t = Stock.__table__
        db.session.execute(update(t).where(t.c.id == bindparam("sid")).values(
            shares_outstanding=bindparam("shares"), dividend_yield=bindparam("dy"), pe_ratio=bindparam("pe"),
            fundamentals_as_of=bindparam("now")), rows)
    update_market_caps(stocks["stock_id"].astype(int).tolist())
    return len(f)


def update_market_caps(ids: list[int]) -> None:
    """Stocks' and snapshots' market cap = shares x the snapshot's price."""
    s, k = Snapshot.__table__, Stock.__table__
    shares = select(k.c.shares_outstanding).where(k.c.id == s.c.stock_id).scalar_subquery()
    db.session.execute(update(s).where(s.c.stock_id.in_(ids)).values(market_cap=s.c.price * shares))
    price = select(s.c.price).where(s.c.stock_id == k.c.id).scalar_subquery()
    db.session.execute(update(k).where(k.c.id.in_(ids)).values(market_cap=k.c.shares_outstanding * price))


def _num(v) -> float | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)
