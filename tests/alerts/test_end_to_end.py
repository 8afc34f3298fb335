"""End to end on a real RQ worker and real Redis: a 1-minute cycle writes snapshots, its hook
enqueues the alert evaluation on `scans`, the evaluation fires and enqueues the email
delivery on `default`, and the email arrives at a real SMTP server."""
from __future__ import annotations

from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.alerts import services
from app.alerts.services import RuleInput
from app.market import services as market
from app.market.tasks import run_cycle
from app.models import AlertDelivery, AlertEvent, ScanRun, Snapshot, Stock
from app.redis_store import get_redis
from tests.conftest import mail_text

ROWS = [{"symbol": s, "name": f"{s} Corp", "exchange": "NYSE", "sector": "Tech", "industry": "Software"}
        for s in ("AAA", "BBB", "CCC")]


def test_cycle_on_a_real_worker_fires_and_emails(app, db, monkeypatch, mailbox, factories):
    monkeypatch.setitem(app.config, "RQ_ASYNC", True)
    monkeypatch.setitem(app.config, "MARKET_DATA_PROVIDER", "simulated")
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "always-open")
    market.seed_universe(ROWS)
    conn = get_redis(app)
    scans, default = Queue("scans", connection=conn), Queue("default", connection=conn)
    scans.enqueue(run_cycle, "1d", True)
    assert SimpleWorker([scans], connection=conn).work(burst=True)

    user = factories.user()
    rule = services.create_rule(user, RuleInput(symbol="AAA", conditions=[{"kind": "price_above", "value": 0.01}],
                                                notify_email=True, message="{symbol} is at {price}"))
    services.create_rule(user, RuleInput(symbol="BBB", conditions=[{"kind": "price_below", "value": 0.01}]))
    bell_before = services.bell_version(user.id)

    scans.enqueue(run_cycle, "1m")
    assert SimpleWorker([scans, default], connection=conn).work(burst=True)

    run = db.session.scalars(select(ScanRun).where(ScanRun.kind == "1m")).one()
    assert run.status == "succeeded", run.error_summary
    events = db.session.scalars(select(AlertEvent)).all()
    assert [(e.symbol, e.rule_id) for e in events] == [("AAA", rule.id)]
    ev = events[0]
    price = db.session.scalar(select(Snapshot.price).join(Stock).where(Stock.symbol == "AAA"))
    assert ev.price == price and ev.snapshot_version == market.snapshot_version()
    assert ev.latency_ms is not None and 0 <= ev.latency_ms < 10_000
    assert services.bell_version(user.id) == bell_before + 1
    d = db.session.scalars(select(AlertDelivery)).one()
    assert (d.channel, d.status, d.attempts) == ("email", "sent", 1)
    assert len(mailbox) == 1 and f"AAA is at {price:,.2f}" in mail_text(mailbox[0])
    assert len(scans.failed_job_registry) == 0 and len(default.failed_job_registry) == 0
