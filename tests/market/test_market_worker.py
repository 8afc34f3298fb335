"""End to end: the scanner jobs on a real RQ worker, real Redis and the test database."""

from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from app.market import hooks, services
from app.market.tasks import run_cycle
from app.models.market import Bar, ScanRun, Snapshot, Stock, StockIndicator
from app.redis_store import get_redis

ROWS = [{"symbol": s, "name": f"{s} Corp", "exchange": "NYSE", "sector": "Tech", "industry": "Software"}
        for s in ("AAA", "BBB", "CCC", "DDD", "EEE")]


def test_daily_then_quotes_cycle_on_a_real_worker(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "RQ_ASYNC", True)
    monkeypatch.setitem(app.config, "MARKET_DATA_PROVIDER", "simulated")
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "always-open")
    monkeypatch.setitem(app.config, "SCAN_CHUNK_SIZE", 2)
    services.seed_universe(ROWS)
    conn = get_redis(app)
    queue = Queue("scans", connection=conn)
    queue.empty()
    seen = []
    receiver = lambda sender, **info: seen.append(info["version"])  # noqa: E731
    hooks.after_quotes_cycle.connect(receiver)
    try:
        queue.enqueue(run_cycle, "1d", True)            # what the clock / admin button enqueue
        assert SimpleWorker([queue], connection=conn).work(burst=True)
        daily = db.session.scalars(select(ScanRun).where(ScanRun.kind == "1d")).one()
        assert daily.status == "succeeded" and daily.chunks_total == 3 and daily.chunks_done == 3
        assert daily.symbols_ok == 5
        assert db.session.scalar(select(func.count()).select_from(Bar)) > 5 * 250
        assert db.session.scalar(select(func.count()).select_from(StockIndicator)) == 5

        version = services.snapshot_version()
        queue.enqueue(run_cycle, "1m")
        assert SimpleWorker([queue], connection=conn).work(burst=True)
    finally:
        hooks.after_quotes_cycle.disconnect(receiver)
    quotes = db.session.scalars(select(ScanRun).where(ScanRun.kind == "1m")).one()
    assert quotes.status == "succeeded" and quotes.symbols_ok == 5 and quotes.finished_at is not None
    assert services.snapshot_version() == version + 1 and seen == [version + 1]
    snaps = db.session.execute(select(Stock.symbol, Snapshot).join(Snapshot)).all()
    assert len(snaps) == 5
    for _, snap in snaps:
        assert snap.price > 0 and snap.source == "simulated" and snap.as_of is not None
        assert snap.prev_as_of is not None  # the daily snapshot moved to prev_*
    # the lock was released: the next cycle can start at once
    assert conn.get(services.lock_key("1m")) is None
    assert queue.count == 0 and len(queue.failed_job_registry) == 0
