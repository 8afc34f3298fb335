"""`make run`'s launcher (python -m app.devserver) starts embedded Redis, web, worker and
clock, serves the app with demo logins, and stops every process on Ctrl-C."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

pytestmark = pytest.mark.smoke

ROOT = Path(__file__).resolve().parents[2]
LOGIN_LINE = re.compile(r"demo login: (\S+@example\.com) / (\S+)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Launcher:
    """The launcher as a subprocess, its output collected by a reader thread."""

    def __init__(self, instance: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "DATABASE_URL", "TEST_DATABASE_URL", "SECRET_KEY", "FLASK_APP")}
        env.update(INSTANCE_PATH=str(instance), PORT=str(port), APP_ENV="development", PYTHONUNBUFFERED="1")
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "app.devserver"], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_until_serving(self, timeout: float = 90) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert self.proc.poll() is None, f"launcher exited early ({self.proc.returncode}):\n{self.output}"
            try:
                if requests.get(self.url + "/", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"no answer at {self.url} within {timeout}s:\n{self.output}")

    def descendants(self) -> list[psutil.Process]:
        """Web, worker and clock, plus the embedded redis-server (which daemonizes, so it is
        found by the socket directory the launcher printed, not by parentage)."""
        try:
            found = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            found = []
        match = re.search(r"Embedded Redis at unix://(\S+)", self.output)
        if match:
            folder = os.path.dirname(match.group(1))
            for proc in psutil.process_iter(["name", "cmdline"]):
                cmd = " ".join(proc.info["cmdline"] or [])
                if "redis-server" in (proc.info["name"] or "") + cmd and folder in cmd and proc not in found:
                    found.append(proc)
        return found

    def stop(self, timeout: float = 15) -> tuple[list[psutil.Process], float]:
        """Ctrl-C the launcher; return the processes it had started and how long it took."""
        children = self.descendants()
        started = time.time()
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=timeout)
        gone, alive = psutil.wait_procs(children, timeout=max(0.1, timeout - (time.time() - started)))
        return alive, time.time() - started

    def kill(self) -> None:
        """Last resort in `finally`: nothing may outlive the test."""
        for child in self.descendants():
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._reader.join(timeout=10)  # the pipe ends with the launcher; then close our end
        self.proc.stdout.close()


def _still_running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _cmdline(proc: psutil.Process) -> str:
    """A process's command line, or "" for one that already ended (RQ's work horses are
    forked per job and come and go)."""
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


def _logins(text: str) -> dict[str, str]:
    return dict(LOGIN_LINE.findall(text))


def _sign_in(base: str, email: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login", timeout=10)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    r = session.post(base + "/login", data={"csrf_token": token, "email": email, "password": password},
                     allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == "/home", (r.status_code, r.text[:500])
    return session


def test_make_run_serves_the_app_and_stops_everything_on_ctrl_c(tmp_path):
    instance = tmp_path / "instance"
    launcher = Launcher(instance, _free_port())
    try:
        launcher.wait_until_serving()
        assert requests.get(launcher.url + "/login", timeout=5).status_code == 200
        # Wait for the banner (printed right after the processes start).
        deadline = time.time() + 10
        while "Press Ctrl-C" not in launcher.output and time.time() < deadline:
            time.sleep(0.2)
        out = launcher.output
        assert f"Stock Scanner is running at {launcher.url}" in out, out
        logins = _logins(out)
        assert set(logins) == {"trader@example.com", "admin@example.com"}, out
        assert (instance / "demo_logins.txt").exists()

        session = _sign_in(launcher.url, "trader@example.com", logins["trader@example.com"])
        home = session.get(launcher.url + "/home", timeout=10)
        assert home.status_code == 200 and "Welcome back, Demo Trader" in home.text

        processes = launcher.descendants()
        names = " ".join(_cmdline(p) for p in processes)
        for part in ("waitress", "worker", "clock", "redis-server"):
            assert part in names, names

        alive, took = launcher.stop(timeout=15)
        assert launcher.proc.returncode == 0, launcher.output
        assert alive == [], [p.pid for p in alive]
        assert took < 15
        assert not any(_still_running(p) for p in processes)
        assert "Stopped." in launcher.output
    finally:
        launcher.kill()

    # A second start on the same instance/ prints the same demo logins (kept in demo_logins.txt).
    second = Launcher(instance, _free_port())
    try:
        second.wait_until_serving()
        deadline = time.time() + 10
        while "Press Ctrl-C" not in second.output and time.time() < deadline:
            time.sleep(0.2)
        assert _logins(second.output) == logins, second.output
        alive, _took = second.stop(timeout=15)
        assert alive == []
    finally:
        second.kill()
