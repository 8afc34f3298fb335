"""Scanner services on the real test database and Redis (jobs run inline)."""
import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, select

from app.market import compute, hooks, services
from app.models.market import Bar, ScanRun, Snapshot, Stock, StockIndicator

UTC = dt.UTC
AFTER_CLOSE = dt.datetime(2025, 11, 26, 22, 0, tzinfo=UTC)      # 17:00 ET, session due
OPEN_NEXT = dt.datetime(2025, 11, 28, 15, 0, tzinfo=UTC)        # 10:00 ET on an early-close day
SATURDAY = dt.datetime(2025, 11, 29, 15, 0, tzinfo=UTC)
ROWS = [
    {"symbol": "AAPL", "name": "Apple Inc.", "exchange": "NASDAQ", "sector": "Technology", "industry": "Hardware"},
    {"symbol": "MSFT", "name": "Microsoft", "exchange": "NASDAQ", "sector": "Technology", "industry": "Software"},
    {"symbol": "JPM", "name": "JPMorgan Chase", "exchange": "NYSE", "sector": "Financials", "industry": "Banks"},
    {"symbol": "BRK.B", "name": "Berkshire Hathaway", "exchange": "NYSE", "sector": "Financials", "industry": "Insurance"},
]


@pytest.fixture()
def market(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MARKET_DATA_PROVIDER", "simulated")
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "calendar")
    monkeypatch.setitem(app.config, "SCAN_CHUNK_SIZE", 3)
    services.seed_universe(ROWS)
    return db


def count(model, *where):
    return services.db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_seed_universe_is_an_idempotent_upsert(market):
    assert count(Stock) == 4
    services.db.session.execute(Stock.__table__.update().where(Stock.symbol == "JPM").values(active=False))
    services.db.session.commit()
    services.seed_universe(ROWS[:1] + [{**ROWS[1], "name": "Microsoft Corporation"}])
    assert count(Stock) == 4  # never deletes
    assert services.db.session.scalar(select(Stock.name).where(Stock.symbol == "MSFT")) == "Microsoft Corporation"
    assert services.db.session.scalar(select(Stock.active).where(Stock.symbol == "JPM")) is False
    assert list(services.stock_ids()["symbol"]) == ["AAPL", "BRK.B", "MSFT"]


def test_bulk_upsert_inserts_then_updates(market):
    sid = services.db.session.scalar(select(Stock.id).where(Stock.symbol == "AAPL"))
    ts = pd.to_datetime(["2025-01-02", "2025-01-03"], utc=True)
    df = pd.DataFrame({"stock_id": sid, "interval": "1d", "ts": ts, "open": [1.0, 2.0], "high": [1.5, 2.5],
                       "low": [0.5, 1.5], "close": [1.2, 2.2], "volume": [10, 20]})
    assert services.upsert_bars(df) == 2
    df.loc[1, "close"] = 9.9
    services.upsert_bars(df)
    services.db.session.commit()
    rows = services.db.session.execute(select(Bar.ts, Bar.close).order_by(Bar.ts)).all()
    assert [r.close for r in rows] == [1.2, 9.9]
    assert rows[0].ts == dt.datetime(2025, 1, 2, tzinfo=UTC)


def test_daily_cycle_writes_bars_indicators_snapshots(market):
    run_id = services.start_cycle("1d", now=AFTER_CLOSE, inline=True)
    run = services.db.session.get(ScanRun, run_id)
    assert run.status == "succeeded" and run.session == dt.date(2025, 11, 26)
    assert (run.symbols_asked, run.symbols_ok, run.symbols_failed, run.chunks_total, run.chunks_done) == (4, 4, 0, 2, 2)
    assert run.finished_at is not None
    n_bars = count(Bar, Bar.interval == "1d")
    assert n_bars > 4 * 250
    snap = services.db.session.execute(
        select(Snapshot).join(Stock).where(Stock.symbol == "AAPL")).scalar_one()
    last_two = services.db.session.execute(
        select(Bar.close).join(Stock, Stock.id == Bar.stock_id).where(Stock.symbol == "AAPL")
        .order_by(Bar.ts.desc()).limit(2)).scalars().all()
    assert snap.price == pytest.approx(last_two[0]) and snap.prev_close == pytest.approx(last_two[1])
    assert snap.change_pct == pytest.approx((last_two[0] / last_two[1] - 1) * 100)
    assert snap.session == dt.date(2025, 11, 26) and snap.source == "simulated"
    assert snap.as_of == dt.datetime(2025, 11, 26, 21, 0, tzinfo=UTC)  # the 16:00 ET close
    ind = services.db.session.execute(select(StockIndicator).where(StockIndicator.stock_id == snap.stock_id)).scalar_one()
    assert 0 <= ind.rsi14 <= 100 and ind.sma200 > 0 and ind.week52_high >= snap.price >= ind.week52_low
    # the same session is not processed twice, and a re-run with --force writes no new rows
    assert services.start_cycle("1d", now=AFTER_CLOSE + dt.timedelta(minutes=10), inline=True) is None
    services.start_cycle("1d", now=AFTER_CLOSE, force=True, inline=True)
    assert count(Bar, Bar.interval == "1d") == n_bars


def test_quotes_cycle_moves_prev_values_bumps_version_and_calls_hooks(market):
    services.start_cycle("1d", now=AFTER_CLOSE, inline=True)
    calls = []

    def receiver(sender, **info):
        calls.append((sender, info["run_id"], info["version"]))

    def broken(sender, **info):
        raise RuntimeError("boom")

    hooks.after_quotes_cycle.connect(receiver)
    hooks.after_quotes_cycle.connect(broken)
    try:
        before = services.snapshot_version()
        r1 = services.start_cycle("1m", now=OPEN_NEXT, inline=True)
        r2 = services.start_cycle("1m", now=OPEN_NEXT + dt.timedelta(minutes=1), inline=True)
    finally:
        hooks.after_quotes_cycle.disconnect(receiver)
        hooks.after_quotes_cycle.disconnect(broken)
    assert services.snapshot_version() == before + 2
    assert calls == [("1m", r1, before + 1), ("1m", r2, before + 2)]
    run = services.db.session.get(ScanRun, r2)
    assert run.status == "succeeded" and "broken failed: boom" in run.error_summary
    snap = services.db.session.execute(select(Snapshot).join(Stock).where(Stock.symbol == "MSFT")).scalar_one()
    assert snap.session == dt.date(2025, 11, 28)
    assert snap.as_of == OPEN_NEXT + dt.timedelta(minutes=1)
    assert snap.prev_as_of == OPEN_NEXT and snap.prev_price is not None and snap.prev_price != snap.price
    # repeating the same quote is idempotent: previous values are kept
    services.upsert_snapshots(pd.DataFrame([{
        "stock_id": snap.stock_id, "price": snap.price, "as_of": snap.as_of, "source": "simulated",
        "updated_at": snap.as_of, "volume": snap.volume}]))
    services.db.session.commit()
    services.db.session.refresh(snap)
    assert snap.prev_as_of == OPEN_NEXT


def test_live_indicators_match_full_recompute(market):
    services.start_cycle("1d", now=AFTER_CLOSE, inline=True)
    services.start_cycle("1m", now=OPEN_NEXT, inline=True)
    sid = services.db.session.scalar(select(Stock.id).where(Stock.symbol == "JPM"))
    snap = services.db.session.get(Snapshot, sid)
    ind = services.db.session.get(StockIndicator, sid)
    hist = services.read_bars([sid], "1d", dt.datetime(2024, 1, 1, tzinfo=UTC))
    today = pd.DataFrame([{"symbol": sid, "ts": pd.Timestamp("2025-11-28", tz="UTC"), "open": snap.open,
                           "high": snap.high, "low": snap.low, "close": snap.price, "volume": snap.volume}])
    full = compute.daily_indicators(pd.concat([hist, today], ignore_index=True)).iloc[0]
    for col in ("sma20", "sma50", "sma200", "ema12", "rsi14", "macd_hist", "atr14", "bb_upper"):
        assert getattr(ind, col) == pytest.approx(full[col], rel=1e-9), col
    assert ind.live_as_of == OPEN_NEXT and ind.daily_as_of == dt.datetime(2025, 11, 26, tzinfo=UTC)
    # time-of-day adjusted relative volume: 30 minutes into the session
    frac = compute.volume_fraction(30, 210)
    assert snap.rel_volume == pytest.approx(snap.volume / (ind.avg_volume * frac), rel=1e-6)


def test_closed_market_and_lock(market, app, monkeypatch):
    assert services.start_cycle("1m", now=SATURDAY, inline=True) is None
    assert services.start_cycle("10m", now=SATURDAY, inline=True) is None
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "always-open")
    assert services.acquire_lock("1m", "someone-else")
    assert services.start_cycle("1m", now=SATURDAY, inline=True) is None  # previous cycle running
    services.release_lock("1m", "someone-else")
    assert services.start_cycle("1m", now=SATURDAY, inline=True) is not None
    assert count(ScanRun) == 1


def test_always_open_clock_ignored_for_real_providers(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MARKET_DATA_PROVIDER", "yahoo")
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "always-open")
    assert not services.market_clock().is_open(SATURDAY)
    monkeypatch.setitem(app.config, "MARKET_DATA_PROVIDER", "simulated")
    assert services.market_clock().is_open(SATURDAY)


def test_provider_failure_is_recorded_not_raised(market, monkeypatch):
    from app.market.providers.base import ProviderError
    from app.market.providers.simulated import SimulatedProvider

    def down(self, symbols, **kw):
        raise ProviderError("HTTP 503", status=503)

    monkeypatch.setattr(SimulatedProvider, "quotes", down)
    monkeypatch.setattr("app.market.fetching.time.sleep", lambda s: None)
    run_id = services.start_cycle("1m", now=OPEN_NEXT, inline=True)
    run = services.db.session.get(ScanRun, run_id)
    assert run.status == "failed" and run.symbols_failed == 4 and run.symbols_ok == 0
    assert "failed (HTTP 503)" in run.error_summary
    assert count(Snapshot) == 0


def test_crashing_chunk_records_run_and_reraises(market, monkeypatch):
    def crash(ids, now=None, provider=None):
        raise ValueError("disk full")

    monkeypatch.setattr(services, "quotes_chunk", crash)
    with pytest.raises(ValueError):
        services.start_cycle("1m", now=OPEN_NEXT, inline=True)
    run = services.db.session.scalars(select(ScanRun)).one()
    assert run.chunks_done == 1 and run.symbols_failed == 3
    assert "chunk failed: ValueError: disk full" in run.error_summary


def test_abandoned_run_is_closed_and_lock_expires(market, app, monkeypatch):
    stale = ScanRun(kind="1m", provider="simulated", status="running", symbols_asked=4, chunks_total=2,
                    started_at=OPEN_NEXT - dt.timedelta(minutes=10))
    services.db.session.add(stale)
    services.db.session.commit()
    services.start_cycle("1m", now=OPEN_NEXT, inline=True)
    services.db.session.refresh(stale)
    assert stale.status == "failed" and "abandoned" in stale.error_summary
    from app.redis_store import get_redis
    services.acquire_lock("10m", "dead-worker")
    assert 0 < get_redis().ttl(services.lock_key("10m")) <= services.LOCK_TTL["10m"]


def test_intraday_cycle_and_retention(market, monkeypatch):
    services.start_cycle("1d", now=AFTER_CLOSE, inline=True)
    run_id = services.start_cycle("10m", now=OPEN_NEXT + dt.timedelta(hours=1), inline=True)
    run = services.db.session.get(ScanRun, run_id)
    assert run.status == "succeeded"
    # 10:00 ET + 1h = 11:00 ET: bars 09:30 .. 10:50 of Nov 28 (9) plus the previous sessions
    today = count(Bar, Bar.interval == "10m", Bar.ts >= dt.datetime(2025, 11, 28, tzinfo=UTC))
    assert today == 4 * 9
    ind = services.db.session.scalars(select(StockIndicator)).first()
    assert ind.vwap > 0 and ind.intraday_as_of == dt.datetime(2025, 11, 28, 15, 50, tzinfo=UTC)
    old = count(Bar, Bar.interval == "10m")
    assert services.prune_intraday(now=OPEN_NEXT + dt.timedelta(days=31)) == old
    assert count(Bar, Bar.interval == "1d") > 0


def test_db_proxy_broker_shares_state_through_the_database(market):
    from app.market.proxies import QUARANTINE
    from app.models.market import ProxyEndpoint

    services.add_proxy("http://a:1")
    services.add_proxy("http://b:2")
    now = dt.datetime(2025, 11, 28, 15, 0, tzinfo=UTC)
    broker = services.DbProxyBroker(clock=lambda: now)
    broker.report("http://b:2", True, latency_ms=80)
    assert broker.pick() == "http://b:2"  # the one with a success first
    broker.report("http://b:2", False, kind="connect_407", message="tunnel refused")
    other_worker = services.DbProxyBroker(clock=lambda: now)
    assert other_worker.pick() == "http://a:1"
    services.db.session.expire_all()
    b = services.db.session.scalar(select(ProxyEndpoint).where(ProxyEndpoint.url == "http://b:2"))
    assert (b.successes, b.failures, b.latency_ms) == (1, 1, 80.0)
    assert b.quarantined_until == now + QUARANTINE and b.last_error.startswith("connect_407")
    from app.errors import InvalidInput
    with pytest.raises(InvalidInput, match="already in the pool"):
        services.add_proxy("http://a:1")
    with pytest.raises(InvalidInput, match="Enter a proxy URL"):
        services.add_proxy("javascript:alert(1)")


def test_csv_provider_errors_name_file_and_line_in_the_run(market, app, monkeypatch, tmp_path):
    (tmp_path / "AAPL.csv").write_text("date,open,high,low,close,volume\n2025-11-25,10,11,9,10.5,100\n"
                                       "2025-11-26,10.5,11.5,10,11,120\n")
    (tmp_path / "MSFT.csv").write_text("date,open,high,low,close,volume\n2025-11-25,10,11,9,oops,100\n")
    monkeypatch.setitem(app.config, "MARKET_DATA_PROVIDER", "csv")
    monkeypatch.setitem(app.config, "MARKET_DATA_CSV_DIR", str(tmp_path))
    run_id = services.start_cycle("1d", now=AFTER_CLOSE, inline=True)
    run = services.db.session.get(ScanRun, run_id)
    assert run.status == "partial" and run.provider == "csv"
    assert (run.symbols_ok, run.symbols_failed) == (1, 3)
    assert "MSFT.csv, line 2: bad number 'oops' in column close" in run.error_summary
    assert "no file JPM.csv" in run.error_summary
    assert count(Bar) == 2


def test_snapshot_version_survives_a_redis_reset(db):
    """After a flush the counter restarts from the clock: a browser's old ETag never matches."""
    from app.redis_store import get_redis

    before = services.bump_snapshot_version()
    get_redis().flushdb()
    after = services.snapshot_version()
    assert after > before
    assert services.bump_snapshot_version() == after + 1
