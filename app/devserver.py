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
    if embedded:
        from app.redis_store import start_embedded_redis

        env["REDIS_URL"] = start_embedded_redis()
        print(f"Embedded Redis at {env['REDIS_URL']}", flush=True)

    subprocess.run(_flask("db", "upgrade"), env=env, check=True)
    demo = subprocess.run(_flask("demo", "load", "--no-strategies"), env=env, check=True, capture_output=True,
                          text=True)
    logins_file = INSTANCE_DIR / "demo_logins.txt"
    new_logins = [line.strip() for line in demo.stdout.splitlines() if "demo login:" in line]
    if new_logins:
        logins_file.write_text("\n".join(new_logins) + "\n")
        logins_file.chmod(0o600)

    processes = {
        "web": subprocess.Popen([sys.executable, "-m", "waitress", f"--listen={HOST}:{PORT}", "--threads=8",
                                 "--call", "app:create_app"], env=env),
        "worker": subprocess.Popen(_flask("worker"), env=env),
        "clock": subprocess.Popen(_flask("clock"), env=env),
    }
    # the demo strategies take a minute or two (a forward-tracking replay through the ledger):
    # built in the background while the app already serves; idempotent, stopped with the rest
    helpers = {"demo-strategies": subprocess.Popen(_flask("demo", "strategies"), env=env)}
    url = f"http://{HOST}:{PORT}"
    print("\n" + "=" * 64, flush=True)
    print(f"  Stock Scanner is running at {url}", flush=True)
    if logins_file.exists():
        print("  " + logins_file.read_text().strip().replace("\n", "\n  "), flush=True)
    print("  Press Ctrl-C to stop web, worker, clock" + (" and Redis." if embedded else "."), flush=True)
    print("=" * 64 + "\n", flush=True)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, proc in processes.items():
            if proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode}; stopping everything.", flush=True)
                stopping, code = True, 1
                break
        time.sleep(0.5)

    for proc in [*helpers.values(), *processes.values()]:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.time() + 10
    for proc in [*helpers.values(), *processes.values()]:
        try:
            proc.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
    if embedded:
        from app.redis_store import stop_embedded_redis

        stop_embedded_redis()
    print("Stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
