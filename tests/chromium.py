"""Where the browser tests find Chromium, and what happens without it.

The browser is Debian's /usr/bin/chromium (CHROMIUM_PATH overrides it), never one that
Playwright downloads. Without it a developer's run skips the browser tests and says so in one
line at the end; CI (CI=true) must never skip them, so there they fail instead.
"""
from __future__ import annotations

import os

INSTALL = "apt-get install chromium"
SKIP_TAG = "browser test skipped:"


def path() -> str:
    return os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def missing() -> bool:
    return not os.access(path(), os.X_OK)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def skip_reason() -> str:
    return f"{SKIP_TAG} {path()} not found (to run: {INSTALL})"


def ci_failure() -> str:
    return (f"CI must run the browser tests, but {path()} was not found: "
            f"install it ({INSTALL}, as .ci/run does) or set CHROMIUM_PATH")


def summary_line(skipped: int) -> str:
    return (f"{skipped} browser test{'s' if skipped != 1 else ''} skipped: {path()} not found. "
            f"Install Chromium to run them: {INSTALL}")
