"""`make run`: the whole app on one machine, with nothing installed but Python.

Starts an embedded Redis (unless REDIS_URL is set), migrates the SQLite database in
instance/, loads demo data when the database is new, then runs web (waitress), worker and
clock side by side and stops all of them on Ctrl-C.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ.get("PORT", "8000"))


def _flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "app:create_app", *args]


def main() -> int:
    from app.config import INSTANCE_DIR

    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("APP_ENV", "development")
    env.setdefault("MARKET_CLOCK", "always-open")
    embedded = not env.get("REDIS_URL")
    children: dict[str, subprocess.Popen] = {}
    # Whatever happens below (a failed migration, an exception, a signal), every process this
    # launcher started ends with it: the children first, then the embedded Redis they use.
    try:
        if embedded:
            from app.redis_store import start_embedded_redis

            env["REDIS_URL"] = start_embedded_redis()
            print(f"Embedded Redis at {env['REDIS_URL']}", flush=True)
        _prepare(env, INSTANCE_DIR)
        return _serve(env, INSTANCE_DIR, embedded, children)
    finally:
        _stop(children)
        if embedded:
            from app.redis_store import stop_embedded_redis

            stop_embedded_redis()
        print("Stopped.", flush=True)


def _prepare(env: dict, instance_dir) -> None:
    """Migrate the database and load the demo data (keeping the new demo logins)."""
    subprocess.run(_flask("db", "upgrade"), env=env, check=True)
    demo = subprocess.run(_flask("demo", "load", "--no-strategies"), env=env, check=True, capture_output=True,
                          text=True)
    logins_file = instance_dir / "demo_logins.txt"
    new_logins = [line.strip() for line in demo.stdout.splitlines() if "demo login:" in line]
    if new_logins:
        logins_file.write_text("\n".join(new_logins) + "\n")
        logins_file.chmod(0o600)


def _serve(env: dict, instance_dir, embedded: bool, children: dict[str, subprocess.Popen]) -> int:
    """Start web, worker and clock; return when one of them exits or on Ctrl-C / SIGTERM / SIGHUP."""
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    children["web"] = subprocess.Popen([sys.executable, "-m", "waitress", f"--listen={HOST}:{PORT}",
                                        "--threads=8", "--call", "app:create_app"], env=env)
    children["worker"] = subprocess.Popen(_flask("worker"), env=env)
    children["clock"] = subprocess.Popen(_flask("clock"), env=env)
    services = dict(children)
    # the demo strategies take a minute or two (a forward-tracking replay through the ledger):
    # built in the background while the app already serves; idempotent, stopped with the rest
    children["demo-strategies"] = subprocess.Popen(_flask("demo", "strategies"), env=env)
    url = f"http://{HOST}:{PORT}"
    logins_file = instance_dir / "demo_logins.txt"
    print("\n" + "=" * 64, flush=True)
    print(f"  Stock Scanner is running at {url}", flush=True)
    if logins_file.exists():
        print("  " + logins_file.read_text().strip().replace("\n", "\n  "), flush=True)
    print("  Press Ctrl-C to stop web, worker, clock" + (" and Redis." if embedded else "."), flush=True)
    print("=" * 64 + "\n", flush=True)

    while not stopping:
        for name, proc in services.items():
            if proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode}; stopping everything.", flush=True)
                return 1
        time.sleep(0.5)
    return 0


def _stop(children: dict[str, subprocess.Popen], timeout: float = 10) -> None:
    """SIGTERM every child still running, wait up to `timeout` in all, SIGKILL the rest."""
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.time() + timeout
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
