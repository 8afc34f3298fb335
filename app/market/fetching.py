"""Fetching through a remote provider: shared rate limit, backoff, proxies, batch splitting.

* :class:`RateLimiter` is a token bucket in Redis, updated by one atomic Lua script, so
  every worker on every machine draws from the same budget (per provider, default
  2 requests/second).
* :func:`fetch_batched` cuts the symbol list into batches; each batch waits for a
  token, goes out through the proxy the broker picks, and on a 429/5xx or a network
  error backs off exponentially with jitter. A batch that still fails, or comes back
  empty, is split in half and each half retried, down to a minimum chunk; symbols of a
  chunk that cannot be split further are reported as failed. What succeeded is kept.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.market.providers.base import BarBatch, ProviderError, QuoteBatch

log = logging.getLogger(__name__)

TOKEN_BUCKET_LUA = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(data[1])
local ts = tonumber(data[2])
if tokens == nil then tokens = burst end
if ts == nil then ts = now end
local elapsed = now - ts
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RateLimiter:
    """Token bucket shared through Redis. ``acquire()`` blocks until a token is taken."""

    def __init__(self, redis, name: str, rate: float = 2.0, burst: float | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.redis = redis
        self.key = f"market:ratelimit:{name}"
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate))
        self.sleep = sleep
        self._script = redis.register_script(TOKEN_BUCKET_LUA)

    def try_acquire(self) -> float:
        """Take a token if one is there: returns 0.0, else the seconds to wait."""
        return float(self._script(keys=[self.key], args=[self.rate, self.burst]))

    def acquire(self, timeout: float = 60.0) -> float:
        """Wait for a token; returns the time waited. Raises TimeoutError past ``timeout``."""
        waited = 0.0
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return waited
            if waited + wait > timeout:
                raise TimeoutError(f"rate limit {self.key}: no token within {timeout}s")
            self.sleep(wait)
            waited += wait

    def state(self) -> dict:
        tokens, ts = self.redis.hmget(self.key, "tokens", "ts")
        return {"rate": self.rate, "burst": self.burst,
                "tokens": float(tokens) if tokens is not None else self.burst}


class NoLimit:
    """Used for local providers (simulated, csv) that make no network requests."""

    rate = None

    def acquire(self, timeout: float = 60.0) -> float:
        return 0.0


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0,
                  rnd: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return rnd() * min(cap, base * (2 ** attempt))


def is_retryable(exc: ProviderError) -> bool:
    if exc.status is not None:
        return exc.status == 429 or exc.status >= 500
    return exc.retryable


@dataclass
class FetchStats:
    requests: int = 0
    retries: int = 0
    splits: int = 0
    failed_requests: int = 0
    errors: list[str] = field(default_factory=list)


def fetch_batched(symbols: list[str], call: Callable[[list[str], str | None], BarBatch | QuoteBatch],
                  *, empty: Callable[[], BarBatch | QuoteBatch], batch_size: int = 100,
                  min_chunk: int = 5, limiter=None, broker=None, max_retries: int = 2,
                  backoff_base: float = 0.5, sleep: Callable[[float], None] = time.sleep,
                  stats: FetchStats | None = None):
    """Fetch ``symbols`` in batches with ``call(batch, proxy_url)``; returns one merged batch.

    Never raises for a provider failure: symbols that could not be fetched end up in
    the result's ``errors`` with the reason.
    """
    limiter = limiter or NoLimit()
    stats = stats if stats is not None else FetchStats()
    result = empty()

    def attempt(batch: list[str]):
        """-> (result, error, empty result carrying the provider's per-symbol errors)"""
        last: ProviderError | None = None
        for i in range(max_retries + 1):
            limiter.acquire()
            proxy = broker.pick() if broker else None
            t0 = time.perf_counter()
            stats.requests += 1
            try:
                out = call(batch, proxy)
            except ProviderError as exc:
                stats.failed_requests += 1
                last = exc
                if broker:
                    broker.report(proxy, False, kind=exc.proxy_error or "other", message=str(exc))
                if not is_retryable(exc) or i == max_retries:
                    break
                stats.retries += 1
                sleep(backoff_delay(i, backoff_base))
                continue
            if broker:
                broker.report(proxy, True, latency_ms=(time.perf_counter() - t0) * 1000)
            if out.frame.empty:
                return None, ProviderError(f"empty result for {len(batch)} symbol(s)"), out
            return out, None, None
        return None, last, None

    def run(batch: list[str]):
        nonlocal result
        out, err, empty_out = attempt(batch)
        if out is not None:
            result = result.merge(out)
            return
        if len(batch) > min_chunk:
            stats.splits += 1
            mid = len(batch) // 2
            run(batch[:mid])
            run(batch[mid:])
            return
        msg = str(err) if err else "failed"
        stats.errors.append(msg)
        failed = empty_out if empty_out is not None else empty()
        # keep the provider's own reason per symbol (e.g. "AAPL.csv, line 3: ...")
        failed.errors = {s: failed.errors.get(s, msg) for s in batch}
        result = result.merge(failed)

    for i in range(0, len(symbols), max(1, batch_size)):
        run(symbols[i:i + batch_size])
    return result
