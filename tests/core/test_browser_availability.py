"""Without Chromium a developer's run skips the browser tests and ends with one line saying so
and how to enable them; CI (CI=true) never skips them: they fail. Each case runs a real pytest
session on one browser test file with CHROMIUM_PATH pointing nowhere."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BROWSER_FILE = "tests/browser/test_rules_lab_browser.py"  # two tests
SCRUB = ("CI", "CHROMIUM_PATH", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID",
         "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS")


def _pytest(tmp_path, *args, **env_extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SCRUB}
    env.update(CHROMIUM_PATH=str(tmp_path / "no-chromium"), **env_extra)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, BROWSER_FILE],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_without_chromium_the_run_ends_saying_how_to_enable_the_browser_tests(tmp_path):
    run = _pytest(tmp_path, "-n", "2")  # as `make test` runs, so the skips arrive through xdist
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert re.fullmatch(r"2 skipped in [\d.]+s", lines[-1]), lines[-3:]
    assert lines[-2] == (f"2 browser tests skipped: {tmp_path / 'no-chromium'} not found. "
                         "Install Chromium to run them: apt-get install chromium")


def test_on_ci_a_missing_chromium_fails_the_browser_tests(tmp_path):
    run = _pytest(tmp_path, "-n", "0", CI="true")
    assert run.returncode == 1, run.stdout[-3000:]
    assert re.search(r"^2 errors in [\d.]+s$", run.stdout, re.M), run.stdout[-3000:]
    assert "skipped" not in run.stdout
    assert run.stdout.count(f"CI must run the browser tests, but {tmp_path / 'no-chromium'} was not found") >= 2


def test_ci_script_installs_chromium_and_runs_as_ci():
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"apt-get install -y -qq chromium", script)
    assert re.search(r"^export CI=true$", script, re.M)
