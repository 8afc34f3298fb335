"""Alerts: one evaluation after a 1-minute cycle with 10,000 active rules (price, change,
volume, formula -- some formulas over daily history such as ``close > sma(close, 50)`` and
``crosses_above(sma(close, 5), sma(close, 20))``, read from N_BARS daily bars per symbol;
symbol and whole-market scopes) over 5,000 symbols, end to end (load rules
and the universe, evaluate, claim, write triggered rows and deliveries, enqueue delivery
jobs), the scan-to-in-app latency (snapshots committed -> triggered row visible to the
header bell's query), and scan -> event -> delivered per channel (in-app, email, SMS,
webhook): after each cycle one in-process worker drains the delivery jobs to local servers
(an SMTP server, a TextBelt-speaking and a webhook HTTP receiver), and the p50 / p95 are read
back from the rows by the admin page's query (``services.latency_by_channel``).

Run: ``python -m bench alerts`` (SQLite, and PostgreSQL when BENCH_PG_URL / the default
local server answers). Deterministic data (seeded).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import socket
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench._util import report

N_SYMBOLS, N_RULES, N_USERS = 5000, 10_000, 100
N_BARS = 80
CYCLES = 5
WEBHOOK_HOST = "hooks.bench"


class _Accept(BaseHTTPRequestHandler):
    """Answers TextBelt's and a webhook receiver's success, as fast as it can."""

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = json.dumps({"success": True, "textId": "bench", "quotaRemaining": 1_000_000}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _local_channels(app):
    """Every external channel to a local server: SMTP (aiosmtpd, messages dropped), SMS and
    webhooks to one HTTP server; quotas lifted so the figures are about latency alone.
    Webhooks to https://hooks.bench:<port>/ are routed to 127.0.0.1 (the SSRF guard itself is
    tested in tests/alerts)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    from app.alerts import channels

    smtp_port = _free_port()
    smtp = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    port = http.server_address[1]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_port, MAIL_USE_TLS=False, MAIL_USE_SSL=False,
                      TEXTBELT_URL=f"http://127.0.0.1:{port}/text", TEXTBELT_KEY="bench",
                      ALERTS_SMS_PER_HOUR=10**9, ALERTS_WEBHOOKS_PER_MINUTE=10**9)
    guard = channels.webhook_guard
    channels.webhook_guard = lambda url: channels.Target("http", WEBHOOK_HOST, "127.0.0.1", port, "/hook")
    try:
        yield f"https://{WEBHOOK_HOST}:{port}/hook"
    finally:
        channels.webhook_guard = guard
        http.shutdown()
        smtp.stop()


def _setup(rng: random.Random, webhook_url: str):
    from sqlalchemy import insert, update

    from app.alerts import services
    from app.auth.services import create_user
    from app.database import utcnow
    from app.extensions import db
    from app.models import AlertRule, Bar, NotificationSettings, ScanRun, Snapshot, StockIndicator, Subscription
    from bench._market import seed_stocks

    ids = seed_stocks(N_SYMBOLS)
    now = utcnow()
    prices = {sid: 10 + rng.random() * 300 for sid in ids}
    last_bar = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    batch = []
    for sid, p in prices.items():  # N_BARS daily bars: a random walk ending near the price
        c = p * (1 + rng.gauss(0, 0.02))
        for k in range(N_BARS):
            batch.append({"stock_id": sid, "interval": "1d", "ts": last_bar - dt.timedelta(days=N_BARS - 1 - k),
                          "open": c, "high": c * 1.01, "low": c * 0.99, "close": c, "volume": 100_000})
            c *= 1 + rng.gauss(0, 0.015)
        if len(batch) >= 50_000:
            db.session.execute(insert(Bar), batch)
            batch = []
    if batch:
        db.session.execute(insert(Bar), batch)
    db.session.add(ScanRun(kind="1d", provider="simulated", status="succeeded", started_at=now, finished_at=now))
    db.session.execute(insert(Snapshot), [
        {"stock_id": sid, "price": p, "prev_price": p, "change_pct": rng.uniform(-3, 3), "prev_change_pct": 0.0,
         "volume": 100_000, "prev_volume": 90_000, "rel_volume": rng.uniform(0.3, 2.5), "as_of": now,
         "open": p, "high": p * 1.01, "low": p * 0.99, "session": dt.date(2026, 11, 27),
         "updated_at": now, "source": "bench"} for sid, p in prices.items()])
    db.session.execute(insert(StockIndicator), [
        {"stock_id": sid, "rsi14": rng.uniform(10, 90), "sma50": p * rng.uniform(0.9, 1.1),
         "sma200": p * rng.uniform(0.85, 1.15), "updated_at": now} for sid, p in prices.items()])
    users = []
    for i in range(N_USERS):
        u = create_user(f"bench{i}@example.com", f"Bench {i}", "correct horse battery staple 42", confirmed=True)
        users.append(u)
    db.session.flush()
    db.session.execute(update(Subscription).where(Subscription.user_id.in_([u.id for u in users]))
                       .values(plan="pro", status="active"))
    db.session.execute(insert(NotificationSettings), [  # every channel usable (verified phone, a webhook)
        {"user_id": u.id, "email_on": True, "sms_on": True, "webhook_on": True, "phone": "+15551234567",
         "phone_verified_at": now, "phone_code_attempts": 0, "webhook_url": webhook_url,
         "webhook_secret": "bench-secret", "updated_at": now} for u in users])
    db.session.commit()
    formulas = [f"rsi14 < {15 + k}" for k in range(20)] + \
               [f"price > sma50 and rsi14 > {60 + k}" for k in range(20)] + \
               [f"crosses_above(price, sma200) and rel_volume > {1 + k / 10:g}" for k in range(10)] + \
               [f"close > sma(close, 50) and rsi14 > {50 + k}" for k in range(10)] + \
               ["crosses_above(sma(close, 5), sma(close, 20))", "crosses_below(close, sma(close, 20))",
                "close > highest(high, 20)", "rsi(14) < 30", "crosses_above(macd, macd_signal)"]
    rows = []
    for i in range(N_RULES):
        sid = ids[i % N_SYMBOLS]
        p = prices[sid]
        r = i % 10
        if r < 2:
            cond = {"kind": "crosses_above" if i % 2 else "crosses_below", "value": round(p * rng.uniform(0.99, 1.01), 2)}
        elif r < 4:
            cond = {"kind": "price_above" if i % 2 else "price_below", "value": round(p * rng.uniform(0.9, 1.1), 2)}
        elif r < 6:
            cond = {"kind": "change_above" if i % 2 else "change_below", "value": rng.choice([2, 3, 4, 5, -2, -3, -5])}
        elif r < 8:
            cond = {"kind": "volume_spike", "value": rng.choice([2, 2.5, 3, 4])}
        else:
            cond = {"kind": "formula", "formula": rng.choice(formulas)}
        universe = i % 500 == 0  # 20 whole-market rules
        rows.append({"owner_id": users[i % N_USERS].id, "name": f"bench {i}",
                     "scope_kind": "universe" if universe else "symbol", "stock_id": None if universe else sid,
                     "conditions": [cond], "trigger_mode": "cooldown", "cooldown_minutes": 60,
                     "notify_email": i % 4 == 0, "notify_sms": i % 20 == 1, "notify_webhook": i % 20 == 2,
                     "message": services.DEFAULT_MESSAGE, "status": "active", "times_fired": 0,
                     "created_at": now, "updated_at": now})
    db.session.execute(insert(AlertRule), rows)
    db.session.commit()
    return ids, prices, users


def _tick(rng, ids, prices) -> None:
    """A 1-minute cycle's snapshot write (prev <- current, prices move)."""
    from sqlalchemy import bindparam, update

    from app.database import utcnow
    from app.extensions import db
    from app.models import Snapshot

    now = utcnow()
    t = Snapshot.__table__
    params = []
    for sid in ids:
        old = prices[sid]
        new = old * (1 + rng.gauss(0, 0.006))
        prices[sid] = new
        params.append({"sid": sid, "p": new, "c": rng.uniform(-6, 6), "rv": rng.uniform(0.3, 4.5)})
    db.session.execute(update(t).where(t.c.stock_id == bindparam("sid")).values(
        prev_price=t.c.price, prev_change_pct=t.c.change_pct, prev_volume=t.c.volume,
        price=bindparam("p"), change_pct=bindparam("c"), rel_volume=bindparam("rv"),
        as_of=now, updated_at=now), params)
    db.session.commit()


def _bench(backend: str) -> None:
    from bench._market import market_app

    rng = random.Random(11)
    with market_app(backend) as app, _local_channels(app) as webhook_url:
        app.config["RQ_ASYNC"] = True  # deliveries are enqueued for real; a worker drains them per cycle
        _cycles(backend, rng, *_setup(rng, webhook_url))


def _drain() -> None:
    """One in-process worker sends the cycle's deliveries (as a `default` worker would)."""
    from rq import Queue, SimpleWorker

    from app.redis_store import get_redis

    conn = get_redis()
    SimpleWorker([Queue("default", connection=conn)], connection=conn).work(burst=True, logging_level="WARNING")


def _cycles(backend: str, rng, ids, prices, users) -> None:
    from rq import Queue

    from app.alerts import services
    from app.extensions import db
    from app.market.series import clear_bar_cache, warm_bar_cache
    from app.models import AlertEvent
    from app.redis_store import get_redis

    clear_bar_cache()
    t_warm = time.perf_counter()
    warm_bar_cache()  # what the worker does after the daily cycle
    warm = time.perf_counter() - t_warm
    Queue("default", connection=get_redis()).empty()
    times, fired, latencies, visible, timings = [], [], [], [], []
    first = None
    for c in range(CYCLES + 1):
        _tick(rng, ids, prices)
        t_snap = time.perf_counter()
        res = services.evaluate_cycle()
        t_done = time.perf_counter()
        # the header bell's query for one owner who got an alert this cycle
        owner = db.session.scalar(db.select(AlertEvent.owner_id).order_by(AlertEvent.id.desc()).limit(1))
        if owner is not None:
            services.unread_count(db.session.get(type(users[0]), owner))
        t_seen = time.perf_counter()
        _drain()
        if c == 0:
            first = t_done - t_snap
            continue
        times.append(t_done - t_snap)
        fired.append(res.fired)
        visible.append(t_seen - t_snap)
        latencies.append(res.latency_ms or 0)
        timings.append(res.timings)
    med = statistics.median(times)
    tag = f"[{backend}]"
    report("alerts", f"evaluation end to end, {N_RULES} rules / {N_SYMBOLS} symbols {tag}", med, "s", "<= 3 s")
    report("alerts", f"rules evaluated per second {tag}", N_RULES / med, "rules/s", None)
    report("alerts", f"first cycle (formulas compiled) {tag}", first, "s", None)
    report("alerts", f"daily-bar cache warm-up after the daily cycle ({N_BARS} bars) {tag}", warm, "s", None)
    report("alerts", f"firings per cycle (median) {tag}", statistics.median(fired), "events", None)
    last = timings[len(timings) // 2]
    for stage in ("load", "formulas", "evaluate", "claim", "write", "enqueue"):
        if stage in last:
            report("alerts", f"stage '{stage}' cumulative {tag}", last[stage], "s", None)
    report("alerts", f"scan-to-in-app latency (snapshots committed -> row visible to the bell) {tag}",
           statistics.median(visible), "s", "<= 10 s")
    report("alerts", f"latency recorded on the events (last snapshot write -> commit) {tag}",
           statistics.median(latencies) / 1000, "s", "<= 10 s")
    _report_channels(tag)
    Queue("default", connection=get_redis()).empty()


def _report_channels(tag: str) -> None:
    """scan -> event -> delivered per channel, p50 / p95, as the admin page computes them (the
    window holds every cycle, the first one included: it fires the most). External channels
    are sent by ONE worker here, so their figures include the wait in the queue."""
    from app.alerts import services

    for row in services.latency_by_channel(dt.timedelta(hours=1)):
        report("alerts", f"{row.label}: alerts delivered {tag}", row.count, "alerts", None)
        for name, spread in (("scan -> event", row.scan_to_event), ("event -> delivered", row.event_to_delivered),
                             ("scan -> delivered", row.scan_to_delivered)):
            for q in ("p50", "p95"):
                value = getattr(spread, q)
                if value is not None:
                    goal = "<= 10 s" if name == "scan -> delivered" and row.channel == "in_app" else None
                    report("alerts", f"{row.label}: {name} {q} {tag}", value / 1000, "s", goal)


def run() -> None:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    _bench("sqlite")
    try:
        import psycopg

        from bench._market import PG_URL
        psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=2).close()
    except Exception:
        return
    _bench("postgresql")


if __name__ == "__main__":
    run()
