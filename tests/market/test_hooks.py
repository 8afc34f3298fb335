"""Scanner hooks: finalize commits the ScanRun and releases the lock before any receiver
runs, a failing receiver changes neither, and every domain's receiver only enqueues its
job (which, run by a worker, does the domain's work)."""
from __future__ import annotations

import datetime as dt

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.alerts import services as alerts
from app.alerts.services import RuleInput
from app.extensions import db
from app.market import hooks, services
from app.models import AlertEvent
from app.models.market import ScanRun
from app.redis_store import get_redis

UTC = dt.UTC
AFTER_CLOSE = dt.datetime(2025, 11, 26, 22, 0, tzinfo=UTC)
OPEN_NEXT = dt.datetime(2025, 11, 28, 15, 0, tzinfo=UTC)
ROWS = [{"symbol": s, "name": f"{s} Corp", "exchange": "NYSE", "sector": "Tech", "industry": "Software"}
        for s in ("AAA", "BBB", "CCC")]


@pytest.fixture()
def market(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MARKET_DATA_PROVIDER", "simulated")
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "calendar")
    monkeypatch.setitem(app.config, "SCAN_CHUNK_SIZE", 2)
    services.seed_universe(ROWS)
    return db


@pytest.fixture()
def queues(app, monkeypatch):
    """Real queues: receivers' jobs wait there instead of running inline."""
    conn = get_redis(app)
    qs = {name: Queue(name, connection=conn) for name in ("scans", "default")}
    for q in qs.values():
        q.empty()
    monkeypatch.setitem(app.config, "RQ_ASYNC", True)
    return qs


def committed_status(run_id: int) -> str | None:
    """The run's status as another connection sees it (only committed rows)."""
    with db.engine.connect() as conn:
        return conn.execute(select(ScanRun.status).where(ScanRun.id == run_id)).scalar()


def test_a_raising_receiver_leaves_the_run_finished_and_the_lock_released(market):
    services.start_cycle("1d", now=AFTER_CLOSE, inline=True)

    def broken(sender, **info):
        db.session.add(ScanRun(kind="1m", provider="junk", status="running"))  # half-done work
        raise RuntimeError("receiver exploded")

    hooks.after_quotes_cycle.connect(broken)
    try:
        run_id = services.start_cycle("1m", now=OPEN_NEXT, inline=True)
    finally:
        hooks.after_quotes_cycle.disconnect(broken)
    run = db.session.get(ScanRun, run_id)
    assert run.status == "succeeded" and run.finished_at is not None
    assert "broken failed: receiver exploded" in run.error_summary
    assert get_redis().get(services.lock_key("1m")) is None
    # the receiver's half-done write was discarded, not committed with the error note
    assert db.session.scalar(select(ScanRun.id).where(ScanRun.provider == "junk")) is None
    # the next cycle starts at once
    assert services.start_cycle("1m", now=OPEN_NEXT + dt.timedelta(minutes=1), inline=True) is not None


def test_the_run_is_committed_and_the_lock_released_before_receivers_run(market):
    services.start_cycle("1d", now=AFTER_CLOSE, inline=True)
    seen = []

    def receiver(sender, **info):
        seen.append((committed_status(info["run_id"]), get_redis().get(services.lock_key("1m")),
                     bool(db.session.new or db.session.dirty)))

    hooks.after_quotes_cycle.connect(receiver)
    try:
        services.start_cycle("1m", now=OPEN_NEXT, inline=True)
    finally:
        hooks.after_quotes_cycle.disconnect(receiver)
    assert seen == [("succeeded", None, False)]


def _queued(q: Queue) -> list[str]:
    return sorted(j.func_name for j in q.get_jobs())


def test_quotes_cycle_enqueues_alerts_and_paper_jobs_which_fire_when_run(market, queues, factories):
    services.start_cycle("1d", now=AFTER_CLOSE, inline=True)
    for q in queues.values():
        q.empty()  # the daily cycle's jobs are checked below
    user = factories.user()
    rule = alerts.create_rule(user, RuleInput(symbol="AAA", conditions=[{"kind": "price_above", "value": 0.01}]))

    run_id = services.start_cycle("1m", now=OPEN_NEXT, inline=True)

    assert _queued(queues["scans"]) == ["app.alerts.tasks.evaluate", "app.paper.tasks.process_open_orders"]
    evaluate = next(j for j in queues["scans"].get_jobs() if j.func_name == "app.alerts.tasks.evaluate")
    assert evaluate.args == (run_id, services.snapshot_version())
    # nothing was evaluated inside the scanner's transaction
    assert db.session.scalars(select(AlertEvent)).all() == []

    conn = get_redis()
    assert SimpleWorker([queues["scans"], queues["default"]], connection=conn).work(burst=True)
    db.session.expire_all()
    events = db.session.scalars(select(AlertEvent)).all()
    assert [(e.symbol, e.rule_id, e.snapshot_version) for e in events] == [("AAA", rule.id, evaluate.args[1])]
    assert len(queues["scans"].failed_job_registry) == 0


def test_daily_and_intraday_cycles_enqueue_each_domains_job(market, queues):
    services.start_cycle("1d", now=AFTER_CLOSE, inline=True)
    assert _queued(queues["default"]) == [
        "app.alerts.tasks.warm_daily_bars", "app.paper.tasks.snapshot_equity",
        "app.screener.tasks.record_memberships", "app.strategies.tasks.track_and_rank"]
    snapshot = next(j for j in queues["default"].get_jobs() if j.func_name == "app.paper.tasks.snapshot_equity")
    assert snapshot.args[0] == "2025-11-26"
    for q in queues.values():
        q.empty()
    services.start_cycle("10m", now=OPEN_NEXT, force=True, inline=True)
    assert _queued(queues["default"]) == ["app.screener.tasks.record_memberships"]
    assert _queued(queues["scans"]) == []
    conn = get_redis()
    assert SimpleWorker([queues["default"]], connection=conn).work(burst=True)
    assert len(queues["default"].failed_job_registry) == 0


def test_every_hook_has_a_receiver():
    """No signal that nothing receives: each rhythm has at least one receiver connected."""
    import app.alerts.hooks  # noqa: F401  (create_app imports them; be explicit here)
    import app.paper.hooks  # noqa: F401
    import app.screener.hooks  # noqa: F401
    import app.strategies.hooks  # noqa: F401

    for kind, signal in hooks.BY_KIND.items():
        assert signal.receivers, f"nothing receives the {kind} hook"
