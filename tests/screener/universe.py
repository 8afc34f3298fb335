"""A small hand-made universe for the screener and watchlist tests (values chosen so every
filter and operator has an answer computable by hand)."""
from __future__ import annotations

import datetime as dt

import numpy as np

from app.database import utcnow
from app.extensions import db
from app.models import Bar, ScanRun, Snapshot, Stock, StockIndicator

AS_OF = dt.datetime(2026, 11, 27, 19, 31, 5, tzinfo=dt.UTC)  # 14:31:05 ET
SESSION = dt.date(2026, 11, 27)

# symbol: stock, snapshot, indicator values
ROWS = {
    "AAA": dict(sector="Technology", industry="Software", exchange="NASDAQ", price=10.0, change=0.4762,
                change_pct=5.0, volume=1_000_000, avg_volume=500_000.0, rel_volume=2.0, market_cap=1e9, gap_pct=4.0,
                week52_high=10.0, week52_low=5.0, rsi14=75.0, sma20=9.0, sma50=8.0, sma200=12.0, atr14=0.5),
    "BBB": dict(sector="Technology", industry="Semiconductors", exchange="NYSE", price=50.0, change=-1.0204,
                change_pct=-2.0, volume=200_000, avg_volume=400_000.0, rel_volume=0.5, market_cap=5e10, gap_pct=-1.0,
                week52_high=60.0, week52_low=40.0, rsi14=45.0, sma20=51.0, sma50=49.0, sma200=45.0, atr14=1.0),
    "CCC": dict(sector="Energy", industry="Oil & Gas", exchange="NYSE", price=100.0, change=0.0, change_pct=0.0,
                volume=3_000_000, avg_volume=1_000_000.0, rel_volume=3.0, market_cap=2e11, gap_pct=0.0,
                week52_high=120.0, week52_low=100.0, rsi14=25.0, sma20=105.0, sma50=110.0, sma200=90.0, atr14=4.0),
    "DDD": dict(sector="Health Care", industry="Biotechnology", exchange="NASDAQ", price=0.5, change=-0.0556,
                change_pct=-10.0, volume=5_000_000, avg_volume=1_000_000.0, rel_volume=5.0, market_cap=5e7,
                gap_pct=-5.0, week52_high=2.0, week52_low=0.5, rsi14=20.0, sma20=0.6, sma50=0.8, sma200=1.0,
                atr14=0.05),
    # missing data: no indicators, no rel volume, market cap only on the stock row
    "EEE": dict(sector="Energy", industry="Utilities", exchange="NASDAQ", price=20.0, change=0.2956,
                change_pct=1.5, volume=0, avg_volume=None, rel_volume=None, market_cap=None, stock_cap=3e9,
                gap_pct=None, week52_high=None, week52_low=None),
}
INDICATOR_COLS = ("rsi14", "sma20", "sma50", "sma200", "atr14")


def build(inactive: bool = True, bars: bool = False) -> dict[str, Stock]:
    stocks = {}
    for sym, r in ROWS.items():
        s = Stock(symbol=sym, name=f"{sym.title()} Corp", exchange=r["exchange"], sector=r["sector"],
                  industry=r["industry"], market_cap=r.get("stock_cap"), active=True)
        db.session.add(s)
        db.session.flush()
        db.session.add(Snapshot(stock_id=s.id, price=r["price"], change=r["change"], change_pct=r["change_pct"],
                                volume=r["volume"], avg_volume=r["avg_volume"], rel_volume=r["rel_volume"],
                                market_cap=r["market_cap"], gap_pct=r["gap_pct"], week52_high=r["week52_high"],
                                week52_low=r["week52_low"], prev_close=r["price"] - r["change"], open=r["price"],
                                high=r["price"], low=r["price"], as_of=AS_OF, session=SESSION, source="simulated"))
        if "rsi14" in r:
            db.session.add(StockIndicator(stock_id=s.id, **{k: r[k] for k in INDICATOR_COLS}))
        stocks[sym] = s
    if inactive:
        s = Stock(symbol="ZZZ", name="Delisted Inc", exchange="NYSE", sector="Technology", active=False)
        db.session.add(s)
        db.session.flush()
        db.session.add(Snapshot(stock_id=s.id, price=10.0, change_pct=50.0, volume=10, as_of=AS_OF, source="simulated"))
        stocks["ZZZ"] = s
    db.session.commit()
    if bars:
        add_bars(stocks)
    return stocks


def add_bars(stocks: dict[str, Stock], n: int = 80) -> None:
    """n daily bars per active stock (a trend ending at the snapshot price's neighbourhood),
    the last one on the session before SESSION, plus a finished daily ScanRun."""
    rows = []
    for i, (sym, s) in enumerate(sorted(stocks.items())):
        if sym == "ZZZ":
            continue
        price = ROWS[sym]["price"]
        rng = np.random.default_rng(i)
        closes = price * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
        closes = closes / closes[-1] * price * 0.99
        for k in range(n):
            day = dt.datetime(2026, 11, 26, tzinfo=dt.UTC) - dt.timedelta(days=n - 1 - k)
            c = float(closes[k])
            rows.append({"stock_id": s.id, "interval": "1d", "ts": day, "open": c, "high": c * 1.01,
                         "low": c * 0.99, "close": c, "volume": 1000 + k})
    db.session.execute(Bar.__table__.insert(), rows)
    db.session.add(ScanRun(kind="1d", provider="simulated", status="succeeded", started_at=utcnow(),
                           finished_at=utcnow()))
    db.session.commit()
