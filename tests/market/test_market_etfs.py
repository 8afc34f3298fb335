"""ETFs as first-class instruments: the screener's type filter, stock presets without
ETFs, the default market-cap sort, and the market strip."""
import datetime as dt

import pytest

from app.market import services
from app.screener import queries
from app.screener.definition import ScreenDefinition
from app.screener.presets import PRESETS

UTC = dt.UTC
AFTER_CLOSE = dt.datetime(2025, 11, 26, 22, 0, tzinfo=UTC)
ROWS = [
    {"symbol": "AAPL", "name": "Apple Inc.", "exchange": "NASDAQ", "sector": "Information Technology", "industry": "Hardware"},
    {"symbol": "JPM", "name": "JPMorgan Chase", "exchange": "NYSE", "sector": "Financials", "industry": "Banks"},
    {"symbol": "F", "name": "Ford Motor", "exchange": "NYSE", "sector": "Consumer Discretionary", "industry": "Autos"},
    {"symbol": "SPY", "name": "SPDR S&P 500 ETF Trust", "exchange": "NYSEARCA", "sector": None,
     "industry": "Exchange Traded Fund", "asset_type": "etf"},
    {"symbol": "QQQ", "name": "Invesco QQQ Trust", "exchange": "NASDAQ", "sector": None,
     "industry": "Exchange Traded Fund", "asset_type": "etf"},
]


@pytest.fixture()
def market(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MARKET_DATA_PROVIDER", "simulated")
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "calendar")
    services.seed_universe(ROWS)
    services.start_cycle("1d", now=AFTER_CLOSE, inline=True)
    return db


def _symbols(args: dict) -> list[str]:
    res = queries.run_screen(ScreenDefinition.parse(args))
    return [r["symbol"] for r in res.rows]


def test_type_filter(market):
    assert sorted(_symbols({"f": ["type:eq:etf"]})) == ["QQQ", "SPY"]
    assert sorted(_symbols({"f": ["type:eq:stock"]})) == ["AAPL", "F", "JPM"]
    # the formula path agrees
    assert sorted(_symbols({"q": ['asset_type == "etf"']})) == ["QQQ", "SPY"]


def test_stock_presets_leave_etfs_out(market):
    for p in PRESETS:
        assert "type:eq:stock" in p.args["f"], p.key
    most_active = next(p for p in PRESETS if p.key == "most-active")
    got = [r["symbol"] for r in queries.run_screen(most_active.definition).rows]
    assert got and not {"SPY", "QQQ"} & set(got)


def test_default_sort_is_market_cap_and_it_works(market):
    res = queries.run_screen(ScreenDefinition.parse({}))
    caps = [r["market_cap"] for r in res.rows]
    assert all(c is not None and c > 0 for c in caps)
    assert caps == sorted(caps, reverse=True)
    assert len(_symbols({"f": ["market_cap:gt:10B"]})) >= 3  # the formula lab's example can match now


def test_market_strip_on_home_and_screener(client, factories, login, market):
    login(factories.user())
    for url in ("/home", "/screener"):
        html = client.get(url).get_data(as_text=True)
        assert 'class="market-strip"' in html, url
        strip = html.split('class="market-strip"', 1)[1].split("</nav>", 1)[0]
        assert ">SPY<" in strip and ">QQQ<" in strip and "%" in strip and "simulated data" in strip
        assert ">AAPL<" not in strip


def test_simulated_label_where_prices_appear(client, factories, login, market):
    login(factories.user())
    for url in ("/home", "/paper", "/alerts", "/alerts/triggered", "/leaderboard"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert "simulated data" in r.get_data(as_text=True), url


def test_home_top_movers_are_stocks(market):
    movers = queries.top_movers(limit=10)
    symbols = {r["symbol"] for r in movers["gainers"] + movers["losers"]}
    assert symbols and not symbols & {"SPY", "QQQ"}


def test_formula_lab_example_matches_the_clean_sectors(market):
    """The lab's market-cap example names a real GICS sector, so it can match."""
    from app.rules.routes import EXAMPLES

    example = next(e for e in EXAMPLES if "market_cap" in e)
    services.db.session.execute(services.Stock.__table__.update().where(services.Stock.symbol == "AAPL")
                                .values(sector="Information Technology"))
    services.db.session.commit()
    assert _symbols({"q": [example]}) == ["AAPL"]


def test_screener_suggests_the_types(client, factories, login, market):
    login(factories.user())
    html = client.get("/screener?f=type:eq:etf").get_data(as_text=True)
    datalist = html.split('id="suggest-type"', 1)[1].split("</datalist>", 1)[0]
    assert '<option value="etf">' in datalist and '<option value="stock">' in datalist
    assert 'list="suggest-type"' in html
