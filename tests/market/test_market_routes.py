"""Stock page, chart JSON, search and the admin scanners page through the test client."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from app.market import services
from app.models.market import ProxyEndpoint, ScanRun

UTC = dt.UTC
AFTER_CLOSE = dt.datetime(2025, 11, 26, 22, 0, tzinfo=UTC)
ROWS = [
    {"symbol": "AAPL", "name": "Apple Inc.", "exchange": "NASDAQ", "sector": "Technology", "industry": "Hardware"},
    {"symbol": "AAL", "name": "American Airlines", "exchange": "NASDAQ", "sector": "Industrials", "industry": "Airlines"},
    {"symbol": "MSFT", "name": "Microsoft", "exchange": "NASDAQ", "sector": "Technology", "industry": "Software"},
]


@pytest.fixture()
def stocks(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MARKET_DATA_PROVIDER", "simulated")
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "calendar")
    services.seed_universe(ROWS)
    services.start_cycle("1d", now=AFTER_CLOSE, inline=True)
    return db


@pytest.fixture()
def user(factories, login):
    return login(factories.user())


def test_anonymous_is_sent_to_login(client, stocks):
    for url in ("/stocks/AAPL", "/stocks/AAPL/chart.json", "/stocks/search?q=A", "/admin/scanners"):
        r = client.get(url)
        assert r.status_code in (302, 303) and "/login" in r.headers["Location"], url


def test_stock_page(client, stocks, user):
    r = client.get("/stocks/AAPL")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Apple Inc." in html and "NASDAQ" in html and "Technology" in html
    assert "Simulated data" in html
    assert "RSI (14)" in html and "SMA (200)" in html and "What it says" in html
    assert "ET" in html and 'data-chart-url="/stocks/AAPL/chart.json"' in html
    assert "lightweight-charts-5.2.1.standalone.production.js" in html
    snap = services.db.session.execute(select(services.Snapshot)).scalars().first()
    assert snap is not None
    assert client.get("/stocks/aapl").headers["Location"].endswith("/stocks/AAPL")


def test_unknown_symbol_is_a_404_with_a_search_box(client, stocks, user):
    r = client.get("/stocks/NOPE")
    html = r.get_data(as_text=True)
    assert r.status_code == 404
    assert "NOPE" in html and 'action="/stocks/search"' in html and 'name="q"' in html


def test_chart_json(client, stocks, user):
    r = client.get("/stocks/AAPL/chart.json?range=3M")
    d = r.get_json()
    assert r.status_code == 200 and d["symbol"] == "AAPL" and d["interval"] == "1d" and d["simulated"] is True
    assert 60 <= len(d["candles"]) <= 66 and len(d["volume"]) == len(d["candles"])
    c = d["candles"][-1]
    assert c["time"] == "2025-11-26" and c["low"] <= c["close"] <= c["high"]
    assert set(d["sma"]) == {"sma20", "sma50", "sma200"}
    assert len(d["sma"]["sma20"]) == len(d["candles"])  # warm-up history loaded before the range
    one_year = client.get("/stocks/AAPL/chart.json?range=1Y").get_json()
    assert len(one_year["candles"]) > 240
    day = client.get("/stocks/AAPL/chart.json?range=1D").get_json()
    assert day["interval"] == "1d"  # no intraday bars stored yet: falls back to daily
    assert client.get("/stocks/AAPL/chart.json?range=2X").status_code == 400
    assert "range must be one of" in client.get("/stocks/AAPL/chart.json?range=2X").get_json()["error"]
    assert client.get("/stocks/NOPE/chart.json").status_code == 404


def test_chart_intraday_times_in_et(client, stocks, user):
    services.start_cycle("10m", now=dt.datetime(2025, 11, 28, 16, 0, tzinfo=UTC), force=True, inline=True)
    d = client.get("/stocks/AAPL/chart.json?range=1D").get_json()
    assert d["interval"] == "10m" and d["intraday"] is True
    first = dt.datetime.fromtimestamp(d["candles"][0]["time"], UTC)
    assert (first.hour, first.minute) == (9, 30)  # 09:30 ET shown as wall-clock time
    assert len(d["candles"]) == 9


def test_search_suggestions_and_page(client, hx, stocks, user):
    r = hx.get("/stocks/search?q=aa")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html
    assert html.index("AAL") < html.index("AAPL")
    assert "MSFT" not in html
    assert "Microsoft" in hx.get("/stocks/search?q=micro").get_data(as_text=True)
    assert "No stock matches" in hx.get("/stocks/search?q=zzzz").get_data(as_text=True)
    page = client.get("/stocks/search?q=a")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert page.headers["Vary"] == "HX-Request" or "HX-Request" in page.headers["Vary"]
    go = client.get("/stocks/search?q=msft&go=1")
    assert go.status_code in (302, 303) and go.headers["Location"].endswith("/stocks/MSFT")


def test_quote_fragment_answers_304_until_the_version_changes(client, stocks, user):
    r = client.get("/stocks/AAPL/quote")
    assert r.status_code == 200 and 'hx-trigger="every 30s"' in r.get_data(as_text=True)
    etag = r.headers["ETag"]
    again = client.get("/stocks/AAPL/quote", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    services.bump_snapshot_version()
    assert client.get("/stocks/AAPL/quote", headers={"If-None-Match": etag}).status_code == 200


def test_admin_scanners_access(client, factories, login, stocks):
    login(factories.user())
    assert client.get("/admin/scanners").status_code == 403
    assert client.post("/admin/scanners/run/1m").status_code in (400, 403)


def test_admin_scanners_page_and_actions(client, factories, login, csrf, stocks):
    login(factories.admin())
    r = client.get("/admin/scanners")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Daily bars &amp; indicators" in html and "succeeded" in html and "Proxy pool" in html
    assert client.post("/admin/scanners/run/1d").status_code == 400  # CSRF token missing
    token = csrf(client, "/admin/scanners")
    before = services.db.session.scalar(select(func.count()).select_from(ScanRun))
    r = client.post("/admin/scanners/run/1d", data={"csrf_token": token})
    assert r.status_code in (302, 303)
    # RQ runs inline in tests: the forced daily run is recorded
    assert services.db.session.scalar(select(func.count()).select_from(ScanRun)) == before + 1
    assert client.post("/admin/scanners/run/5m", data={"csrf_token": token}).status_code == 404
    r = client.post("/admin/scanners/proxies", data={"csrf_token": token, "url": "http://u:secret@10.0.0.1:3128"})
    assert r.status_code in (302, 303)
    page = client.get("/admin/scanners").get_data(as_text=True)
    assert "http://10.0.0.1:3128" in page and "secret" not in page
    client.post("/admin/scanners/proxies", data={"csrf_token": token, "url": "ftp://nope"})
    assert "Enter a proxy URL" in client.get("/admin/scanners").get_data(as_text=True)
    pid = services.db.session.scalar(select(ProxyEndpoint.id))
    assert client.post(f"/admin/scanners/proxies/{pid}/delete", data={"csrf_token": token}).status_code in (302, 303)
    assert services.db.session.scalar(select(func.count()).select_from(ProxyEndpoint)) == 0
