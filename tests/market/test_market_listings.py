"""Universe upkeep from NASDAQ Trader symbol files (fixtures in the real format: pipe-
delimited, CRLF, "File Creation Time" trailer), the CLI and the admin upload; clean sectors."""
import datetime as dt
import io
import os

import pytest
from sqlalchemy import func, select

from app.errors import InvalidInput
from app.market import listings, services
from app.models.market import Bar, Stock

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "nasdaqtrader")
UTC = dt.UTC
ROWS = [
    {"symbol": "AAPL", "name": "Apple", "exchange": "NASDAQ", "sector": "Information Technology", "industry": "Hardware"},
    {"symbol": "MSFT", "name": "Microsoft", "exchange": "US", "sector": "Information Technology", "industry": "Software"},
    {"symbol": "OLDCO", "name": "Old Company", "exchange": "NASDAQ", "sector": "Industrials", "industry": "Machinery"},
    {"symbol": "JPM", "name": "JPMorgan Chase", "exchange": "NYSE", "sector": "Financials", "industry": "Banks"},
    {"symbol": "GONE", "name": "Gone Corp", "exchange": "NYSE", "sector": "Energy", "industry": "Oil"},
]


def _read(name):
    with open(os.path.join(FIX, name), "rb") as fh:
        return fh.read()


@pytest.fixture()
def universe(app, db):
    services.seed_universe(ROWS)
    oldco = services.db.session.scalar(select(Stock.id).where(Stock.symbol == "OLDCO"))
    services.db.session.add(Bar(stock_id=oldco, interval="1d", ts=dt.datetime(2025, 11, 26, tzinfo=UTC),
                                open=1, high=1, low=1, close=1, volume=1))
    services.db.session.commit()
    return db


def _stock(sym):
    return services.db.session.scalar(select(Stock).where(Stock.symbol == sym))


def test_nasdaq_file_adds_updates_and_deactivates(universe):
    parsed, res = listings.import_bytes(_read("nasdaqlisted.txt"))
    assert parsed.kind == "nasdaq" and parsed.created == "1204202617:00"
    assert sorted(res.added) == ["NEWCO", "QQQ", "ZXZZT"]
    assert sorted(res.updated) == ["AAPL", "MSFT"]
    assert res.deactivated == ["OLDCO"]  # NYSE symbols are not this file's business
    assert (res.etfs, res.test_issues) == (1, 1)
    aapl, msft, newco, qqq, test = (_stock(s) for s in ("AAPL", "MSFT", "NEWCO", "QQQ", "ZXZZT"))
    assert aapl.name == "Apple Inc." and msft.exchange == "NASDAQ"
    assert newco.name == "NewCo Therapeutics, Inc. - Class A" and newco.active
    assert qqq.asset_type == "etf" and qqq.active
    assert test.test_issue and not test.active  # marked, never scanned
    old = _stock("OLDCO")
    assert not old.active and old.delisted_at is not None
    # deactivated, not deleted: the history stays, the scanners skip it
    assert services.db.session.scalar(select(func.count()).select_from(Bar).where(Bar.stock_id == old.id)) == 1
    assert "OLDCO" not in set(services.stock_ids()["symbol"]) and "ZXZZT" not in set(services.stock_ids()["symbol"])
    assert _stock("JPM").active and _stock("GONE").active


def test_other_file_and_reactivation(universe):
    _, res = listings.import_bytes(_read("otherlisted.txt"))
    assert sorted(res.added) == ["A", "BRK.B", "SPY", "ZTST"]
    assert res.deactivated == ["GONE"] and res.skipped == ["ABR$D"]
    assert _stock("SPY").asset_type == "etf" and _stock("SPY").exchange == "NYSEARCA"
    assert _stock("A").name == "Agilent Technologies, Inc." and _stock("JPM").name == "JP Morgan Chase & Co."
    # a symbol that comes back is active again
    text = _read("otherlisted.txt").decode().replace("JPM|JP Morgan", "GONE|Gone Corp|N|GONE|N|100|N|GONE\r\nJPM|JP Morgan", 1)
    _, res = listings.import_text(text)
    assert res.reactivated == ["GONE"] and _stock("GONE").active and _stock("GONE").delisted_at is None


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("Symbol,Name\nAAPL,Apple\n", "Not a NASDAQ Trader symbol file"),
    ("Symbol|Security Name|Market Category|Test Issue|Financial Status|Round Lot Size|ETF|NextShares\n"
     "AAPL|Apple Inc. - Common Stock|Q|N|N|100|N|N\n", "truncated"),
    ("Symbol|Security Name|Market Category|Test Issue|Financial Status|Round Lot Size|ETF|NextShares\n"
     "AAPL|Apple\nFile Creation Time: 1204202617:00|||||||\n", "Line 2: expected 8 fields"),
])
def test_bad_files_import_nothing(universe, text, message):
    with pytest.raises(InvalidInput, match=message):
        listings.import_text(text)
    assert services.db.session.scalar(select(func.count()).select_from(Stock)) == len(ROWS)
    assert all(s.active for s in services.db.session.scalars(select(Stock)))


def test_cli_import(app, universe):
    r = app.test_cli_runner().invoke(args=["market", "import", os.path.join(FIX, "nasdaqlisted.txt")])
    assert r.exit_code == 0, r.output
    assert "nasdaqlisted (1204202617:00): 3 added, 2 updated, 0 reactivated, 1 deactivated" in r.output
    assert "deactivated: OLDCO" in r.output


def test_admin_upload(client, factories, login, csrf, universe):
    login(factories.user())
    assert client.post("/admin/scanners/listings").status_code in (400, 403)
    login(factories.admin())
    token = csrf(client, "/admin/scanners")
    r = client.post("/admin/scanners/listings", data={"csrf_token": token, "file": (io.BytesIO(b"junk"), "x.txt")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert r.status_code == 200 and "Nothing imported: Not a NASDAQ Trader symbol file" in r.get_data(as_text=True)
    r = client.post("/admin/scanners/listings", content_type="multipart/form-data", follow_redirects=True,
                    data={"csrf_token": token, "file": (io.BytesIO(_read("otherlisted.txt")), "otherlisted.txt")})
    assert "otherlisted.txt: 4 added, 1 updated, 0 reactivated, 1 deactivated" in r.get_data(as_text=True)
    assert not _stock("GONE").active


def test_delisted_stock_page_says_no_longer_listed(client, factories, login, universe):
    listings.import_bytes(_read("nasdaqlisted.txt"))
    login(factories.user())
    html = client.get("/stocks/OLDCO").get_data(as_text=True)
    assert "OLDCO is no longer listed (since " in html and "not scanned any more" in html
    assert "no longer listed" not in client.get("/stocks/AAPL").get_data(as_text=True)


# --- clean sectors -------------------------------------------------------------------
def test_sectors_check_reports_unmapped_labels(app, db, monkeypatch):
    from app.market import sectors

    r = app.test_cli_runner().invoke(args=["market", "sectors", "--check"])
    assert r.exit_code == 0, r.output
    assert "industry labels map to the 11 GICS sectors" in r.output
    monkeypatch.setattr(sectors, "table", lambda: {})
    monkeypatch.setattr(sectors, "ALIASES", {})
    r = app.test_cli_runner().invoke(args=["market", "sectors", "--check"])
    assert r.exit_code == 1 and "unmapped: Haushaltsgeräte" in r.output


def test_seeded_universe_offers_eleven_sectors(app, db):
    from app.market.instruments import GICS_SECTORS
    from app.screener import queries

    services.seed_universe()
    assert queries.known_values("sector") == sorted(GICS_SECTORS)
    stocks = services.db.session.scalars(select(Stock).where(Stock.asset_type == "stock")).all()
    assert len(stocks) > 1000 and all(s.sector in GICS_SECTORS for s in stocks)
    etfs = {s.symbol for s in services.db.session.scalars(select(Stock).where(Stock.asset_type == "etf"))}
    assert {"SPY", "QQQ", "IWM", "DIA", "XLK", "XLF", "XLV", "XLE", "XLRE", "XLC"} <= etfs and len(etfs) == 15
