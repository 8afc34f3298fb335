"""Test data builders that go through the real services and models."""
from __future__ import annotations

import itertools

import pyotp

from app.auth import twofactor
from app.auth.services import create_user
from app.extensions import db
from app.models import User

PASSWORD = "correct horse battery staple 42"
_seq = itertools.count(1)


def user(email: str | None = None, *, password: str = PASSWORD, role: str = "user", confirmed: bool = True,
         display_name: str | None = None, active: bool = True) -> User:
    n = next(_seq)
    u = create_user(email or f"user{n}@example.com", display_name or f"Trader {n}", password, role=role,
                    confirmed=confirmed)
    u.active = active
    db.session.commit()
    return u


def admin(**kwargs) -> User:
    return user(role="admin", **kwargs)


def user_with_2fa(**kwargs) -> tuple[User, str, list[str]]:
    """A user with TOTP on: returns (user, base32 secret, backup codes)."""
    u = user(**kwargs)
    tf = twofactor.begin_setup(u)
    secret = twofactor.secret_of(tf)
    codes = twofactor.confirm_setup(u, pyotp.TOTP(secret).now())
    # Let tests use the current code again (setup consumed this time step).
    u.two_factor.last_used_step = None
    db.session.commit()
    return u, secret, codes
