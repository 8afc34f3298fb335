"""Screener: server time of the results fragment (parse + query + render 50 rows) on 5,000
stocks with full snapshots, indicators and 220 daily bars each, over mixed screens (every
preset plus custom filter screens, and formula screens), and idle polling answered 304.

SQLite always; PostgreSQL too when ``BENCH_DATABASE_URL`` names a scratch database (its
tables are dropped). Goals: p95 <= 60 ms without a formula, <= 150 ms with one; 304 <= 5 ms.
"""
from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time

import numpy as np

from bench._util import report

N_STOCKS = 5000
N_BARS = 220
REPEAT = 7
SECTORS = ("Technology", "Energy", "Health Care", "Financials", "Industrials", "Utilities", "Materials")
EXCHANGES = ("NYSE", "NASDAQ", "AMEX")

CUSTOM = [
    "f=price:between:10|200&f=rel_volume:gte:1.5&sort=rel_volume&dir=desc",
    "f=sector:in:Technology|Energy&f=market_cap:gte:2B&sort=change_pct&dir=desc",
    "f=rsi:between:30|50&f=price_vs_sma50:gt:0&cols=name,price,rsi,price_vs_sma50,atr_pct,industry",
    "f=exchange:eq:NASDAQ&f=avg_volume:gt:500K&f=atr_pct:lt:3&sort=price&dir=asc&per=100",
    "sort=volume&dir=desc",
]
FORMULAS = [
    "f=price:gt:5&q=close+>+sma(close,+50)+and+rsi(14)+<+45",
    "f=rel_volume:gte:1&q=volume+>+2+*+avg(volume,+20)",
    "q=crosses_above(sma(close,+20),+sma(close,+50))+or+close+>+highest(high,+20)",
    "f=sector:eq:Technology&q=rsi14+<+50+and+price+>+sma50",
]


def _build(db, rng) -> None:
    from sqlalchemy import insert

    from app.database import utcnow
    from app.models import Bar, ScanRun, Snapshot, Stock, StockIndicator

    now = utcnow()
    db.session.execute(insert(Stock), [
        {"symbol": f"S{i:04d}", "name": f"Stock {i} Inc", "active": True, "sector": SECTORS[i % len(SECTORS)],
         "industry": f"Industry {i % 40}", "exchange": EXCHANGES[i % 3], "created_at": now, "updated_at": now}
        for i in range(N_STOCKS)])
    ids = [r[0] for r in db.session.execute(db.select(Stock.id).order_by(Stock.id))]
    steps = rng.normal(0.0003, 0.02, size=(N_STOCKS, N_BARS + 1))
    closes = 10 + 190 * rng.random((N_STOCKS, 1)) * np.exp(np.cumsum(steps, axis=1))
    vols = rng.integers(50_000, 5_000_000, size=(N_STOCKS, N_BARS + 1))
    day0 = dt.datetime(2026, 11, 26, tzinfo=dt.UTC) - dt.timedelta(days=N_BARS - 1)
    days = [day0 + dt.timedelta(days=k) for k in range(N_BARS)]
    batch = []
    for r, sid in enumerate(ids):
        c = closes[r]
        for k in range(N_BARS):
            batch.append({"stock_id": sid, "interval": "1d", "ts": days[k], "open": c[k] * 0.995,
                          "high": c[k] * 1.01, "low": c[k] * 0.99, "close": c[k], "volume": int(vols[r, k])})
        if len(batch) >= 50_000:
            db.session.execute(insert(Bar), batch)
            batch = []
    if batch:
        db.session.execute(insert(Bar), batch)
    snaps, inds = [], []
    for r, sid in enumerate(ids):
        c = closes[r]
        price, prev = float(c[-1]), float(c[-2])
        avg = float(vols[r, -64:-1].mean())
        snaps.append({"stock_id": sid, "price": price, "prev_close": prev, "change": price - prev,
                      "change_pct": (price / prev - 1) * 100, "open": prev * 1.001, "high": price * 1.01,
                      "low": price * 0.99, "volume": int(vols[r, -1]), "avg_volume": avg,
                      "rel_volume": float(vols[r, -1]) / avg, "gap_pct": 0.1,
                      "week52_high": float(c.max()), "week52_low": float(c.min()),
                      "market_cap": float(rng.lognormal(22, 2)), "session": dt.date(2026, 11, 27), "as_of": now,
                      "updated_at": now, "source": "simulated"})
        diffs = np.diff(c[-15:])
        gain, loss = diffs[diffs > 0].sum() / 14, -diffs[diffs < 0].sum() / 14
        inds.append({"stock_id": sid, "sma20": float(c[-20:].mean()), "sma50": float(c[-50:].mean()),
                     "sma200": float(c[-200:].mean()), "rsi14": float(100 - 100 / (1 + gain / loss)) if loss else 100.0,
                     "atr14": float(c[-1] * 0.02), "atr_pct": 2.0, "avg_volume": avg, "updated_at": now})
    db.session.execute(insert(Snapshot), snaps)
    db.session.execute(insert(StockIndicator), inds)
    db.session.add(ScanRun(kind="1d", provider="simulated", status="succeeded", started_at=now, finished_at=now))
    db.session.commit()


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def _measure(backend: str, url: str) -> None:
    from app import create_app
    from app.auth.services import create_user
    from app.extensions import db
    from app.screener.presets import PRESETS
    from app.screener.queries import clear_bar_cache

    config = {"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url, "MARKET_CLOCK": "always-open"}
    if os.environ.get("REDIS_URL"):
        config["REDIS_URL"] = os.environ["REDIS_URL"]
    app = create_app(config)
    rng = np.random.default_rng(5)
    with app.app_context():
        db.drop_all()
        db.create_all()
        t0 = time.perf_counter()
        _build(db, rng)
        build_s = time.perf_counter() - t0
        user = create_user("bench-screener@example.com", "Bench", "correct horse battery staple 42", confirmed=True)
        db.session.commit()
        uid = user.get_id()
    clear_bar_cache()
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"], s["_fresh"] = uid, True
    hx = {"HX-Request": "true"}

    def get(qs: str, headers=None):
        r = client.get(f"/screener/results?{qs}", headers={**hx, **(headers or {})})
        assert r.status_code in (200, 304), (qs, r.status_code, r.get_data(as_text=True)[:300])
        return r

    # the first formula screen loads the daily bars into the per-process cache
    started = time.perf_counter()
    get(FORMULAS[0])
    cold = time.perf_counter() - started

    plain = [p.definition.query_string() for p in PRESETS if not p.definition.formula] + CUSTOM
    formula = FORMULAS + [p.definition.query_string() for p in PRESETS if p.definition.formula]
    timings: dict[str, list[float]] = {"plain": [], "formula": []}
    for kind, screens in (("plain", plain), ("formula", formula)):
        for qs in screens:
            get(qs)  # warm-up (template compile, statement cache)
            mine = []
            for _ in range(REPEAT):
                started = time.perf_counter()
                get(qs, {"HX-Trigger": "results"})
                mine.append(time.perf_counter() - started)
            timings[kind] += mine
            if os.environ.get("BENCH_VERBOSE"):
                print(f"  {backend} {statistics.median(mine) * 1000:7.1f} ms  {qs}", flush=True)
    etag = get(plain[0]).headers["ETag"]
    polls = []
    for _ in range(200):
        started = time.perf_counter()
        r = get(plain[0], {"If-None-Match": etag, "HX-Trigger": "results"})
        polls.append(time.perf_counter() - started)
        assert r.status_code == 304
    ms = 1000.0
    report("screener", f"{backend} setup: 5,000 stocks x {N_BARS} daily bars", build_s, "s")
    report("screener", f"{backend} results fragment, filter screens ({len(plain)}), median",
           statistics.median(timings["plain"]) * ms, "ms")
    report("screener", f"{backend} results fragment, filter screens, p95", _p95(timings["plain"]) * ms, "ms",
           "<= 60")
    report("screener", f"{backend} results fragment, formula screens ({len(formula)}), median",
           statistics.median(timings["formula"]) * ms, "ms")
    report("screener", f"{backend} results fragment, formula screens, p95", _p95(timings["formula"]) * ms, "ms",
           "<= 150")
    report("screener", f"{backend} first formula screen (loads the daily-bar cache)", cold * ms, "ms")
    report("screener", f"{backend} idle poll 304, median", statistics.median(polls) * ms, "ms")
    report("screener", f"{backend} idle poll 304, p95", _p95(polls) * ms, "ms", "<= 5")
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def run() -> None:
    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-screener-"))
    from app.config import normalise_database_url

    tmp = tempfile.mkdtemp(prefix="bench-screener-db-")
    _measure("sqlite", f"sqlite:///{tmp}/bench.db")
    pg = os.environ.get("BENCH_DATABASE_URL")
    if pg:
        _measure("postgresql", normalise_database_url(pg))
