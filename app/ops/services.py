"""Operational checks: health (read-only) and the scheduler heartbeat."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import redis
from sqlalchemy import text

from app.extensions import db
from app.redis_store import get_redis

CLOCK_TICK_KEY = "ops:clock:last_tick"


def check_database() -> tuple[str, float | None]:
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return "unhealthy", None
    ms = (time.perf_counter() - started) * 1000
    return ("healthy" if ms < 100 else "degraded" if ms < 500 else "unhealthy"), ms


def check_redis() -> tuple[str, float | None]:
    started = time.perf_counter()
    try:
        get_redis().ping()
    except redis.RedisError:
        return "unhealthy", None
    return "healthy", (time.perf_counter() - started) * 1000


def overall_health() -> str:
    """Worst status of the checks. Reads only: the public endpoint never writes."""
    order = {"healthy": 0, "degraded": 1, "unhealthy": 2}
    statuses = [check_database()[0], check_redis()[0]]
    return max(statuses, key=order.__getitem__)


def record_clock_tick() -> None:
    get_redis().set(CLOCK_TICK_KEY, datetime.now(UTC).isoformat())


def clock_last_tick() -> datetime | None:
    value = get_redis().get(CLOCK_TICK_KEY)
    return datetime.fromisoformat(value.decode()) if value else None
