"""Browser fixtures: Playwright (sync API) driving the system's Chromium.

Never `playwright install`: the browser is Debian's /usr/bin/chromium (CI installs it with
apt-get when missing; see tests/chromium.py). Without it, every test in this folder is skipped
with the reason and the run ends with a line saying how to enable them; with CI=true they fail.
Screenshots go to tests/browser/artifacts/ (git-ignored).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import chromium

CHROMIUM = chromium.path()
ARTIFACTS = Path(__file__).parent / "artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    skip = chromium.missing() and not chromium.in_ci()
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if skip:
                item.add_marker(pytest.mark.skip(reason=chromium.skip_reason()))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """On CI a missing Chromium fails every browser test (before any fixture starts)."""
    if chromium.in_ci() and chromium.missing():
        pytest.fail(chromium.ci_failure(), pytrace=False)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


def _new_page(browser, viewport, **extra):
    context = browser.new_context(viewport=viewport, **extra)
    context.set_default_timeout(15_000)
    page = context.new_page()
    # Console errors (CSP violations included) and uncaught exceptions, for assert_clean(page).
    page.problems = []
    page.on("console", lambda msg: page.problems.append(f"console at {page.url}: {msg.text[:90]}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.problems.append(f"pageerror: {exc}"))
    return context, page


@pytest.fixture()
def page(browser):
    context, page = _new_page(browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture()
def phone_page(browser):
    context, page = _new_page(browser, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    yield page
    context.close()


def shot(page, name: str) -> Path:
    """Save a full-page PNG of what the browser shows now into tests/browser/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_clean(page) -> None:
    """No JavaScript errors and no CSP violations happened on this page so far. Expected, so
    ignored: a form re-rendered with 422 logs a failed resource load; a request superseded
    under ``hx-sync="this:replace"`` (the ticket estimate while typing) is aborted on purpose,
    and htmx logs that as ``htmx:sendAbort`` plus an unsuccessful ``htmx:afterRequest``. A
    real failure still shows as a failed resource load or ``htmx:responseError``."""
    expected = ("status of 422", "htmx:sendAbort", "htmx:afterRequest")
    problems = [p for p in page.problems if not any(e in p for e in expected)]
    assert problems == [], "\n".join(problems)
