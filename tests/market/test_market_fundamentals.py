"""Market cap and the daily fundamentals step: shares per stock from the provider,
market cap = shares x last price written by the daily scan and by every quotes cycle."""
import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select

from app.market import services
from app.market.providers.csvdir import CsvProvider
from app.market.providers.simulated import SimulatedProvider
from app.models.market import Snapshot, Stock

UTC = dt.UTC
AFTER_CLOSE = dt.datetime(2025, 11, 26, 22, 0, tzinfo=UTC)
OPEN_NEXT = dt.datetime(2025, 11, 28, 15, 0, tzinfo=UTC)
ROWS = [
    {"symbol": "AAPL", "name": "Apple Inc.", "exchange": "NASDAQ", "sector": "Information Technology",
     "industry": "Hardware"},
    {"symbol": "JPM", "name": "JPMorgan Chase", "exchange": "NYSE", "sector": "Financials", "industry": "Banks"},
    {"symbol": "SPY", "name": "SPDR S&P 500 ETF Trust", "exchange": "NYSEARCA", "sector": None,
     "industry": "Exchange Traded Fund", "asset_type": "etf"},
]


@pytest.fixture()
def market(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MARKET_DATA_PROVIDER", "simulated")
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "calendar")
    services.seed_universe(ROWS)
    return db


def _stocks():
    return {s.symbol: s for s in services.db.session.scalars(select(Stock))}


def _snaps():
    return {sym: snap for sym, snap in services.db.session.execute(select(Stock.symbol, Snapshot).join(Snapshot))}


def test_daily_scan_records_fundamentals_and_market_cap(market):
    services.start_cycle("1d", now=AFTER_CLOSE, inline=True)
    services.db.session.expire_all()
    stocks, snaps = _stocks(), _snaps()
    expected = SimulatedProvider(seed=services.settings().seed).fundamentals(["AAPL", "JPM", "SPY"]).set_index("symbol")
    for sym, s in stocks.items():
        assert s.shares_outstanding == pytest.approx(expected.loc[sym, "shares_outstanding"])
        assert s.fundamentals_as_of is not None
        assert s.market_cap == pytest.approx(s.shares_outstanding * snaps[sym].price)
        assert snaps[sym].market_cap == pytest.approx(s.market_cap)
        assert 3e8 <= s.market_cap <= 5e12
    assert stocks["SPY"].asset_type == "etf" and stocks["AAPL"].asset_type == "stock"
    assert stocks["AAPL"].dividend_yield is not None


def test_every_quotes_cycle_writes_market_cap(market):
    services.start_cycle("1d", now=AFTER_CLOSE, inline=True)
    caps = []
    for minute in (0, 1):
        services.start_cycle("1m", now=OPEN_NEXT + dt.timedelta(minutes=minute), inline=True, force=True)
        services.db.session.expire_all()
        stocks, snaps = _stocks(), _snaps()
        for sym, snap in snaps.items():
            assert snap.market_cap == pytest.approx(stocks[sym].shares_outstanding * snap.price, rel=1e-12)
        caps.append({k: v.market_cap for k, v in snaps.items()})
    assert caps[0] != caps[1]  # prices moved, and the caps with them


def test_market_cap_is_empty_without_shares(market):
    services.db.session.execute(Stock.__table__.update().values(shares_outstanding=None))
    services.db.session.commit()
    ids = services.stock_ids()["stock_id"].tolist()
    services.quotes_chunk(ids, now=OPEN_NEXT, provider=SimulatedProvider(seed=1))
    services.db.session.commit()
    assert all(s.market_cap is None for s in _snaps().values())


def test_csv_provider_reads_an_optional_shares_column(tmp_path):
    (tmp_path / "ABC.csv").write_text("date,open,high,low,close,volume,shares_outstanding\n"
                                      "2025-01-02,1,2,0.5,1.5,100,1000000\n2025-01-03,1,2,0.5,1.5,100,1200000\n"
                                      "2025-01-06,1,2,0.5,1.5,100,\n")
    (tmp_path / "XYZ.csv").write_text("date,open,high,low,close,volume\n2025-01-02,1,2,0.5,1.5,100\n")
    f = CsvProvider(str(tmp_path)).fundamentals(["ABC", "XYZ", "NOPE"])
    assert f["symbol"].tolist() == ["ABC"] and f["shares_outstanding"].tolist() == [1.2e6]
    assert np.isnan(f["pe_ratio"].iloc[0])
    # the bars still parse with the extra column
    assert len(CsvProvider(str(tmp_path)).bars(["ABC"], "1d", dt.date(2025, 1, 1), dt.date(2025, 1, 31)).frame) == 3


def test_yahoo_fundamentals_use_fast_info(monkeypatch):
    import yfinance as yf

    from app.market.providers.yahoo import YahooProvider

    class FakeTicker:
        def __init__(self, t):
            if t == "BAD":
                raise RuntimeError("404")
            self.fast_info = {"shares": {"AAPL": 1.5e10, "BRK-B": 1.3e9}[t]}

    monkeypatch.setattr(yf, "Ticker", FakeTicker)
    f = YahooProvider().fundamentals(["AAPL", "BRK.B", "BAD"])
    assert dict(zip(f["symbol"], f["shares_outstanding"], strict=True)) == {"AAPL": 1.5e10, "BRK.B": 1.3e9}


def test_demo_market_from_an_older_database_gets_the_etfs_and_market_caps(market):
    """`make run` on a database seeded before ETFs and market caps: the loader adds the
    ETFs' history and every stock's shares instead of returning early."""
    from app.models.market import Bar

    services.db.session.execute(Stock.__table__.delete().where(Stock.symbol == "SPY"))
    services.db.session.commit()
    services.start_cycle("1d", now=AFTER_CLOSE, inline=True)  # AAPL and JPM have bars
    services.db.session.execute(Stock.__table__.update().values(shares_outstanding=None, market_cap=None))
    services.db.session.execute(Stock.__table__.update().where(Stock.symbol == "AAPL").values(sector="Technology"))
    services.db.session.commit()
    out = services.load_demo_market(now=AFTER_CLOSE)
    assert out["stocks"] >= 15  # the seed's ETFs (and any stock of the seed without bars)
    spy = services.db.session.scalar(select(Stock).where(Stock.symbol == "SPY"))
    assert spy.asset_type == "etf" and spy.market_cap > 0
    n = services.db.session.scalar(select(services.func.count()).select_from(Bar).where(Bar.stock_id == spy.id))
    assert n > 200
    aapl = services.db.session.scalar(select(Stock).where(Stock.symbol == "AAPL"))
    assert aapl.sector == "Information Technology" and aapl.market_cap > 0
