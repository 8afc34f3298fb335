"""Alert fixtures: a small market with controllable snapshots, users on each plan, and local
fakes of the outside world: a TextBelt server and a webhook receiver that record requests."""
from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from app.database import utcnow
from app.extensions import db as _db
from app.models import Snapshot, Stock, StockIndicator, Subscription

_n = itertools.count(1)


class Market:
    """Stocks with a snapshot; ``tick`` moves the price like a 1-minute cycle (prev <- current)."""

    def add(self, symbol: str | None = None, price: float = 100.0, *, prev: float | None = None,
            change_pct: float | None = 0.0, rel_volume: float | None = 1.0, volume: int = 1000,
            rsi14: float | None = None) -> Stock:
        symbol = symbol or f"A{next(_n)}"
        stock = Stock(symbol=symbol, name=f"{symbol} Inc.", exchange="NYSE", sector="Technology", active=True)
        _db.session.add(stock)
        _db.session.flush()
        now = utcnow()
        _db.session.add(Snapshot(stock_id=stock.id, price=price, prev_price=prev, change_pct=change_pct,
                                 rel_volume=rel_volume, volume=volume, as_of=now, updated_at=now, source="test"))
        if rsi14 is not None:
            _db.session.add(StockIndicator(stock_id=stock.id, rsi14=rsi14))
        _db.session.commit()
        return stock

    def tick(self, stock: Stock, price: float, **values) -> None:
        snap = _db.session.get(Snapshot, stock.id)
        snap.prev_price, snap.prev_change_pct, snap.prev_volume = snap.price, snap.change_pct, snap.volume
        snap.price = price
        for k, v in values.items():
            setattr(snap, k, v)
        snap.prev_as_of = snap.as_of
        snap.as_of = snap.updated_at = utcnow()
        _db.session.commit()


@pytest.fixture()
def market(db):
    return Market()


def on_plan(user, plan: str):
    sub = _db.session.scalar(_db.select(Subscription).where(Subscription.user_id == user.id))
    if sub is None:
        sub = Subscription(user_id=user.id)
        _db.session.add(sub)
    sub.plan, sub.status = plan, "active"
    _db.session.commit()
    _db.session.refresh(user)
    return user


@pytest.fixture()
def trader(factories):
    return factories.user()


@pytest.fixture()
def pro(factories):
    return on_plan(factories.user(), "pro")


@pytest.fixture()
def basic(factories):
    return on_plan(factories.user(), "basic")


class Recorder(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status, payload = self.server.respond(body)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _serve(respond):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.requests = []
    server.respond = respond
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


class FakeTextBelt:
    """Speaks TextBelt's wire format: POST /text with form fields phone, message, key."""

    def __init__(self):
        self.fail_with: str | None = None
        self.status = 200
        self.server = _serve(self._respond)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/text"

    def _respond(self, body):
        if self.status != 200:
            return self.status, {"success": False, "error": "server error"}
        if self.fail_with:
            return 200, {"success": False, "error": self.fail_with}
        return 200, {"success": True, "textId": f"tb{len(self.server.requests)}", "quotaRemaining": 40}

    @property
    def sent(self) -> list[dict]:
        return [{k: v[0] for k, v in parse_qs(r["body"].decode()).items()} for r in self.server.requests]


@pytest.fixture()
def textbelt(app):
    fake = FakeTextBelt()
    saved = {k: app.config.get(k) for k in ("TEXTBELT_URL", "TEXTBELT_KEY")}
    app.config.update(TEXTBELT_URL=fake.url, TEXTBELT_KEY="test-key")
    yield fake
    app.config.update(saved)
    fake.server.shutdown()


class Receiver:
    def __init__(self):
        self.status = 200
        self.server = _serve(lambda body: (self.status, {"ok": self.status < 300}))
        self.port = self.server.server_address[1]

    @property
    def requests(self):
        return self.server.requests


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


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


def ago(minutes: float) -> dt.datetime:
    return utcnow() - dt.timedelta(minutes=minutes)
