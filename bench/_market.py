"""Shared setup for the market benchmarks: an app on a throw-away SQLite file or a
private PostgreSQL schema, and a deterministic synthetic universe."""
from __future__ import annotations

import contextlib
import os
import tempfile
import uuid

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def symbols(n: int) -> list[str]:
    return [f"SIM{i:05d}" for i in range(n)]


@contextlib.contextmanager
def market_app(backend: str):
    """Yield an app (in an app context) with the market tables created on ``backend``
    ("sqlite" or "postgresql"); everything is removed afterwards."""
    from sqlalchemy import create_engine, text

    from app import create_app
    from app.extensions import db

    tmp = tempfile.mkdtemp(prefix="bench-market-")
    schema = None
    if backend == "postgresql":
        schema = f"bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        eng = create_engine(PG_URL)
        with eng.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        eng.dispose()
        url, opts = PG_URL, {"connect_args": {"options": f"-csearch_path={schema}"}}
    else:
        url, opts = f"sqlite:///{tmp}/bench.db", {}
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        from app.redis_store import start_embedded_redis
        redis_url = start_embedded_redis(os.path.join(tmp, "redis.db"))
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": opts,
                      "REDIS_URL": redis_url, "MARKET_DATA_PROVIDER": "simulated", "MARKET_CLOCK": "always-open",
                      "LOG_LEVEL": "WARNING"})
    try:
        with app.app_context():
            db.create_all()
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        if schema:
            eng = create_engine(PG_URL)
            with eng.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            eng.dispose()


def seed_stocks(n: int) -> list[int]:
    from app.market import services

    services.seed_universe([{"symbol": s, "name": f"Simulated {s}", "exchange": "NYSE", "sector": "Bench",
                             "industry": "Bench"} for s in symbols(n)])
    return services.stock_ids()["stock_id"].tolist()


def peak_rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
