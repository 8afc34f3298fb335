"""Domain errors raised by services and turned into HTTP responses in one place."""
from __future__ import annotations

# Ids are INTEGER (32-bit) columns on PostgreSQL; SQLite overflows past 2^63.
MAX_ID = 2**31 - 1


def parse_id(value) -> int:
    """An id from user input (URL, query string, form field) as an int in the database's
    range; ValueError otherwise, so callers answer it like any other unknown id."""
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        raise ValueError(f"not an id: {text[:20]!r}")
    number = int(text)
    if not 1 <= number <= MAX_ID:
        raise ValueError(f"not an id: {number}")
    return number


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    status_code = 422


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class LimitReached(DomainError):
    """A plan limit; the message says which limit and how to raise it, `usage` how much of
    it is used ("Free plan: 1 of 1 watchlists used") and `upgrade_url` where plans are."""

    status_code = 403
    PLANS_URL = "/account#plan"

    def __init__(self, message: str, *, field: str | None = None, usage: str | None = None,
                 upgrade_url: str | None = PLANS_URL):
        super().__init__(message, field=field)
        self.usage = usage
        self.upgrade_url = upgrade_url


class Throttled(DomainError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    status_code = 503
