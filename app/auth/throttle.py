"""Login throttling shared by every web process (Redis).

Failures are counted per account and per client address in fixed windows. When Redis is
unreachable the check fails closed for that request: better a clear "try again" than an
unthrottled password oracle.
"""
from __future__ import annotations

import hashlib

import redis
from flask import current_app

from app.errors import ServiceUnavailable, Throttled
from app.redis_store import get_redis

LOCKED_MESSAGE = (
    "Too many sign-in attempts. For your security, sign-in is paused for this account or "
    "network; try again in {minutes} minutes or reset your password."
)
UNAVAILABLE_MESSAGE = "Sign-in is temporarily unavailable (security service unreachable). Try again in a minute."


def _keys(scope: str, account: str, ip: str) -> tuple[str, str]:
    digest = hashlib.sha256(account.encode()).hexdigest()[:32]
    return f"throttle:{scope}:acct:{digest}", f"throttle:{scope}:ip:{ip}"


def _limits() -> tuple[int, int, int]:
    cfg = current_app.config
    return cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"], cfg["LOGIN_MAX_FAILURES_PER_IP"], cfg["LOGIN_THROTTLE_WINDOW"]


def check(account: str, ip: str, scope: str = "login") -> None:
    """Raise Throttled (429 with Retry-After) when either counter is at its limit."""
    per_account, per_ip, window = _limits()
    acct_key, ip_key = _keys(scope, account, ip)
    try:
        r = get_redis()
        pipe = r.pipeline()
        pipe.get(acct_key).ttl(acct_key).get(ip_key).ttl(ip_key)
        acct_count, acct_ttl, ip_count, ip_ttl = pipe.execute()
    except redis.RedisError as exc:
        current_app.logger.error("login throttle unavailable: %s", exc)
        raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from exc
    blocked = [ttl for count, ttl, limit in ((acct_count, acct_ttl, per_account), (ip_count, ip_ttl, per_ip))
               if count is not None and int(count) >= limit]
    if blocked:
        retry_after = max(max(blocked), 1) if max(blocked) > 0 else window
        raise Throttled(LOCKED_MESSAGE.format(minutes=max(1, round(retry_after / 60))), retry_after=retry_after)


# INCR and start the window on the first failure, atomically (EXPIRE NX needs Redis 7).
_INCR_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


def record_failure(account: str, ip: str, scope: str = "login") -> None:
    _, _, window = _limits()
    try:
        r = get_redis()
        for key in _keys(scope, account, ip):
            r.eval(_INCR_WINDOW, 1, key, window)
    except redis.RedisError as exc:
        current_app.logger.error("could not record a login failure: %s", exc)


def reset_account(account: str, scope: str = "login") -> None:
    try:
        get_redis().delete(_keys(scope, account, "-")[0])
    except redis.RedisError:
        pass
