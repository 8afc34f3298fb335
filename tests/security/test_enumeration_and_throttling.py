"""A3 (no account enumeration by timing) and A5 (atomic sign-in throttle, mail throttles).

Timings are never asserted: the tests count the work instead (KDF runs, enqueued mail jobs)
and require it to be the same whether or not the address has an account.
"""
from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher

from app import security
from app.auth import services
from app.errors import InvalidInput, Throttled
from tests.factories import PASSWORD

GOOD = "velvet tangerine ladder 93"


class CountingHasher(PasswordHasher):
    """The real KDF, counting how often it runs (hash or verify)."""

    def __init__(self):
        super().__init__()
        self.runs = 0
        self._lock = threading.Lock()

    def _count(self):
        with self._lock:
            self.runs += 1

    def hash(self, *args, **kwargs):
        self._count()
        return super().hash(*args, **kwargs)

    def verify(self, *args, **kwargs):
        self._count()
        return super().verify(*args, **kwargs)


@pytest.fixture()
def kdf(monkeypatch):
    hasher = CountingHasher()
    monkeypatch.setattr(security, "_hasher", hasher)
    return hasher


@pytest.fixture()
def jobs(monkeypatch):
    """The mail jobs the auth services enqueue, recorded instead of run."""
    seen = []
    monkeypatch.setattr(services, "enqueue",
                        lambda queue, func, *args, **kw: seen.append((func.rsplit(".", 1)[-1], args)))
    return seen


def _post(client, csrf, url, **data):
    return client.post(url, data={"csrf_token": csrf(client, url), **data})


# --- A3: the same KDF work and the same mail path for known and unknown addresses --------


def test_wrong_password_runs_the_kdf_once_for_known_and_unknown_addresses(client, csrf, db, factories, kdf):
    factories.user("ada@example.com")
    factories.user("oauth@example.com", password=None)  # signs in with Google only
    counts = {}
    for email in ("ada@example.com", "nobody@example.com", "oauth@example.com"):
        kdf.runs = 0
        r = _post(client, csrf, "/login", email=email, password="not the password")
        assert r.status_code == 422
        counts[email] = kdf.runs
    assert counts == {"ada@example.com": 1, "nobody@example.com": 1, "oauth@example.com": 1}


def test_disabled_account_runs_the_kdf_like_any_other(client, csrf, db, factories, kdf):
    factories.user("off@example.com", active=False)
    kdf.runs = 0
    r = _post(client, csrf, "/login", email="off@example.com", password=PASSWORD)
    assert r.status_code == 422 and kdf.runs == 1


def test_register_hashes_once_and_enqueues_one_mail_job_on_both_paths(client, csrf, db, factories, kdf, jobs):
    factories.user("taken@example.com")
    runs = {}
    for email in ("taken@example.com", "fresh@example.com"):
        kdf.runs = 0
        r = _post(client, csrf, "/register", email=email, display_name="Someone", password=GOOD, confirm=GOOD)
        assert r.status_code == 303 and r.headers["Location"] == "/register/done"
        runs[email] = kdf.runs
    assert runs == {"taken@example.com": 1, "fresh@example.com": 1}
    assert [(name, args[1]) for name, args in jobs] == [("send_account_email", "already_registered"),
                                                        ("send_account_email", "confirm")]


def test_forgot_enqueues_the_same_job_for_known_and_unknown_addresses(client, csrf, db, factories, kdf, jobs):
    factories.user("ada@example.com")
    kdf.runs = 0
    for email in ("ada@example.com", "ghost@example.com"):
        assert _post(client, csrf, "/forgot", email=email).status_code == 200
    assert jobs == [("send_password_reset", ("ada@example.com", "127.0.0.1")),
                    ("send_password_reset", ("ghost@example.com", "127.0.0.1"))]
    assert kdf.runs == 0


def test_reset_job_mails_only_real_accounts(client, csrf, db, factories, mailbox):
    from sqlalchemy import select

    from app.models import AuditEvent

    factories.user("ada@example.com")
    for email in ("ada@example.com", "ghost@example.com"):
        assert _post(client, csrf, "/forgot", email=email).status_code == 200
    assert [m["To"] for m in mailbox] == ["ada@example.com"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "password.reset_requested"))
    assert event is not None and event.details == {"ip": "127.0.0.1"}


# --- A5: the sign-in throttle is atomic --------------------------------------------------


def test_16_parallel_wrong_passwords_check_exactly_5(app, db, factories, kdf):
    factories.user("ada@example.com")
    kdf.runs = 0
    start = threading.Barrier(16)
    outcomes = []

    def attempt():
        with app.test_request_context("/login", method="POST"):
            start.wait()
            try:
                services.authenticate("ada@example.com", "not the password", "10.0.0.9")
            except Throttled:
                outcomes.append(429)
            except InvalidInput:
                outcomes.append(422)
            finally:
                from app.extensions import db as _db

                _db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert kdf.runs == 5
    assert sorted(outcomes) == [422] * 5 + [429] * 11


def test_a_right_password_gives_its_slot_back(app, client, csrf, db, factories):
    app.config["LOGIN_MAX_FAILURES_PER_IP"] = 3
    try:
        factories.user("ada@example.com")
        for _ in range(5):
            assert _post(client, csrf, "/login", email="ada@example.com", password=PASSWORD).status_code == 303
            assert client.post("/logout", data={"csrf_token": csrf(client, "/home")}).status_code == 303
    finally:
        app.config["LOGIN_MAX_FAILURES_PER_IP"] = 30


# --- A5: reset and "already registered" mails are throttled per address and per IP ---------


def test_password_reset_mails_are_limited_per_address(client, csrf, db, factories, jobs):
    factories.user("ada@example.com")
    for _ in range(3):
        assert _post(client, csrf, "/forgot", email="ada@example.com").status_code == 200
    r = _post(client, csrf, "/forgot", email="ADA@example.com")
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 3600
    assert "Too many emails were asked for this address" in r.get_data(as_text=True)
    assert len(jobs) == 3
    # Unknown addresses are limited the same way: the 429 reveals nothing.
    for _ in range(3):
        _post(client, csrf, "/forgot", email="ghost@example.com")
    assert _post(client, csrf, "/forgot", email="ghost@example.com").status_code == 429
    assert len(jobs) == 6


def test_already_registered_mails_are_limited_per_address(client, csrf, db, factories, jobs):
    factories.user("taken@example.com")
    form = {"email": "taken@example.com", "display_name": "X", "password": GOOD, "confirm": GOOD}
    for _ in range(3):
        assert _post(client, csrf, "/register", **form).status_code == 303
    assert _post(client, csrf, "/register", **form).status_code == 429
    assert [args[1] for _, args in jobs] == ["already_registered"] * 3


def test_account_mails_are_limited_per_ip(app, client, csrf, db, factories, jobs):
    app.config["ACCOUNT_MAIL_MAX_PER_IP"] = 4
    try:
        for i in range(4):
            assert _post(client, csrf, "/forgot", email=f"user{i}@example.com").status_code == 200
        assert _post(client, csrf, "/forgot", email="another@example.com").status_code == 429
        r = _post(client, csrf, "/register", email="new@example.com", display_name="N", password=GOOD, confirm=GOOD)
        assert r.status_code == 429
    finally:
        app.config["ACCOUNT_MAIL_MAX_PER_IP"] = 20
    assert len(jobs) == 4
