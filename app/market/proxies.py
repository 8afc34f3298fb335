"""Proxy pool: error classification, state transitions and selection order.

The state lives in the database (``ProxyEndpoint`` rows) so every worker shares it;
the functions here work on any object with the row's attributes, so they are tested
without a database and used unchanged by :mod:`app.market.services`.

Rules (PRODUCT.md section 1):

* per proxy: successes, failures, moving-average latency (80 % old, 20 % new);
* quarantine (default 30 minutes) at once on a *hard* error (a CONNECT answered with
  400/401/403/407/429/502/503/504, tunnel failed, connection refused or reset, timeout,
  unreachable); a *soft* error (anything else: the proxy answered but the data was bad)
  quarantines after :data:`SOFT_FAILURE_LIMIT` consecutive failures;
* selection: proxies that are enabled and not quarantined, preferring those with a
  success, then most successes, then lowest latency; with none, a direct connection.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

QUARANTINE = dt.timedelta(minutes=30)
SOFT_FAILURE_LIMIT = 2
LATENCY_OLD_WEIGHT = 0.8

HARD_STATUSES = {400, 401, 403, 407, 429, 502, 503, 504}
_PATTERNS = [
    ("tunnel_failed", re.compile(r"tunnel connection failed|tunnel failed|proxy ?error|unable to connect to proxy|CONNECT tunnel", re.I)),
    ("refused", re.compile(r"connection refused|ECONNREFUSED|errno 111|Failed to connect", re.I)),
    ("reset", re.compile(r"connection reset|ECONNRESET|errno 104|reset by peer|RemoteDisconnected|connection aborted", re.I)),
    ("timeout", re.compile(r"timed? ?out|timeout", re.I)),
    ("unreachable", re.compile(r"unreachable|no route to host|name or service not known|could not resolve|getaddrinfo|nodename nor servname", re.I)),
]
HARD_KINDS = {"tunnel_failed", "refused", "reset", "timeout", "unreachable"} | {
    f"connect_{s}" for s in HARD_STATUSES}


class ProxyRow(Protocol):
    url: str
    enabled: bool
    successes: int
    failures: int
    consecutive_failures: int
    latency_ms: float | None
    quarantined_until: dt.datetime | None
    last_error: str | None
    last_used_at: dt.datetime | None


def classify_error(error: BaseException | str | None) -> str:
    """Name the class of a connection error: ``connect_<status>``, ``tunnel_failed``,
    ``refused``, ``reset``, ``timeout``, ``unreachable`` (all hard) or ``other``."""
    if error is None:
        return "other"
    if isinstance(error, BaseException):
        import requests

        if isinstance(error, (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout, TimeoutError)):
            return "timeout"
        if isinstance(error, ConnectionRefusedError):
            return "refused"
        if isinstance(error, ConnectionResetError):
            return "reset"
        text = f"{type(error).__name__}: {error}"
        cause = error.__cause__ or error.__context__
        if cause is not None:
            text += f" {type(cause).__name__}: {cause}"
    else:
        text = str(error)
    m = re.search(r"(?:CONNECT|tunnel)[^0-9]{0,40}(\d{3})|(\d{3})[^0-9]{0,20}(?:from|for) (?:the )?proxy|ProxyError.*?\b(\d{3})\b", text, re.I)
    if m:
        status = int(next(g for g in m.groups() if g))
        if status in HARD_STATUSES:
            return f"connect_{status}"
    for kind, pat in _PATTERNS:
        if pat.search(text):
            return kind
    return "other"


def is_hard(kind: str | None) -> bool:
    return kind in HARD_KINDS


def is_available(row: ProxyRow, now: dt.datetime) -> bool:
    return bool(row.enabled) and (row.quarantined_until is None or row.quarantined_until <= now)


def record_success(row: ProxyRow, latency_ms: float, now: dt.datetime) -> None:
    row.successes = (row.successes or 0) + 1
    row.consecutive_failures = 0
    row.latency_ms = (float(latency_ms) if row.latency_ms is None
                      else LATENCY_OLD_WEIGHT * row.latency_ms + (1 - LATENCY_OLD_WEIGHT) * float(latency_ms))
    row.quarantined_until = None
    row.last_used_at = now


def record_failure(row: ProxyRow, kind: str, now: dt.datetime, message: str = "",
                   quarantine: dt.timedelta = QUARANTINE,
                   soft_limit: int = SOFT_FAILURE_LIMIT) -> bool:
    """Count a failure; quarantine on a hard error or after ``soft_limit`` soft ones.
    Returns whether the proxy is now quarantined."""
    row.failures = (row.failures or 0) + 1
    row.consecutive_failures = (row.consecutive_failures or 0) + 1
    row.last_error = f"{kind}: {message}"[:500] if message else kind
    row.last_used_at = now
    if is_hard(kind) or row.consecutive_failures >= soft_limit:
        row.quarantined_until = now + quarantine
        return True
    return False


def selection_key(row: ProxyRow):
    latency = row.latency_ms if row.latency_ms is not None else float("inf")
    return (0 if (row.successes or 0) > 0 else 1, -(row.successes or 0), latency)


def select(rows: Iterable[ProxyRow], now: dt.datetime) -> ProxyRow | None:
    """The proxy to use next, or None for a direct connection."""
    ranked = sorted((r for r in rows if is_available(r, now)), key=selection_key)
    return ranked[0] if ranked else None


@dataclass
class MemoryProxy:
    """A plain proxy row (tests, and providers used outside the app)."""

    url: str
    enabled: bool = True
    successes: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    latency_ms: float | None = None
    quarantined_until: dt.datetime | None = None
    last_error: str | None = None
    last_used_at: dt.datetime | None = None
    id: int | None = None


class ProxyBroker:
    """What the fetch layer talks to: ``pick()`` a proxy URL (or None) before a request,
    ``report()`` the outcome after. This one keeps rows in memory; the app's broker
    (:class:`app.market.services.DbProxyBroker`) keeps them in the database."""

    def __init__(self, rows: list[MemoryProxy] | None = None, clock=None):
        self.rows = rows or []
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def pick(self) -> str | None:
        row = select(self.rows, self.clock())
        return row.url if row else None

    def report(self, url: str | None, ok: bool, latency_ms: float = 0.0,
               kind: str = "other", message: str = "") -> None:
        if url is None:
            return
        for row in self.rows:
            if row.url == url:
                if ok:
                    record_success(row, latency_ms, self.clock())
                else:
                    record_failure(row, kind, self.clock(), message)
