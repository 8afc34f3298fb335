"""Rate limiter on real Redis, backoff and batch splitting."""
import os
import threading
import time
import uuid

import pandas as pd
import pytest
import redis as redis_lib

from app.market.fetching import FetchStats, RateLimiter, backoff_delay, fetch_batched
from app.market.providers.base import BarBatch, ProviderError, QuoteBatch
from app.market.proxies import MemoryProxy, ProxyBroker

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_conn():
    try:
        conn = redis_lib.Redis.from_url(REDIS_URL)
        conn.ping()
    except redis_lib.ConnectionError:
        pytest.skip("no Redis")
    yield conn
    conn.close()


def test_two_clients_share_one_budget(redis_conn):
    name = f"test-{uuid.uuid4().hex}"
    # two workers, each with its own connection, drawing from one bucket of 10/s
    a = RateLimiter(redis_lib.Redis.from_url(REDIS_URL), name, rate=10, burst=1)
    b = RateLimiter(redis_lib.Redis.from_url(REDIS_URL), name, rate=10, burst=1)
    got = []

    def worker(lim):
        for _ in range(5):
            lim.acquire()
            got.append(time.monotonic())

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(lim,)) for lim in (a, b)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    elapsed = time.monotonic() - t0
    assert len(got) == 10
    # 10 tokens at 10/s with a burst of 1: at least 0.9 s whoever asks
    assert elapsed >= 0.85
    redis_conn.delete(a.key)


def test_bucket_refuses_then_refills(redis_conn):
    lim = RateLimiter(redis_conn, f"test-{uuid.uuid4().hex}", rate=2)
    assert lim.burst == 2
    assert lim.try_acquire() == 0 and lim.try_acquire() == 0
    wait = lim.try_acquire()
    assert 0.3 < wait <= 0.5
    other = RateLimiter(redis_conn, lim.key.split(":", 2)[2], rate=2)
    assert other.try_acquire() > 0  # the same budget seen by another client
    time.sleep(0.55)
    assert lim.try_acquire() == 0
    assert redis_conn.pttl(lim.key) > 0  # the bucket expires when idle
    redis_conn.delete(lim.key)


def test_backoff_has_jitter_and_cap():
    assert backoff_delay(0, base=1, rnd=lambda: 1.0) == 1
    assert backoff_delay(3, base=1, rnd=lambda: 1.0) == 8
    assert backoff_delay(10, base=1, cap=30, rnd=lambda: 1.0) == 30
    assert backoff_delay(3, base=1, rnd=lambda: 0.25) == 2


def _bars(symbols):
    return BarBatch("1d", pd.DataFrame({
        "symbol": symbols, "ts": pd.Timestamp("2025-01-02", tz="UTC"),
        "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1}))


def test_failed_batch_split_down_to_min_chunk_partial_success_kept():
    symbols = [f"S{i:02d}" for i in range(16)]
    poison = {"S05"}
    calls = []

    def call(batch, proxy):
        calls.append(list(batch))
        if poison & set(batch):
            raise ProviderError("HTTP 500", status=500)
        return _bars(batch)

    sleeps = []
    stats = FetchStats()
    out = fetch_batched(symbols, call, empty=lambda: BarBatch("1d"), batch_size=16,
                        min_chunk=2, max_retries=1, sleep=sleeps.append, stats=stats)
    assert sorted(out.frame["symbol"]) == sorted(set(symbols) - {"S04", "S05"})
    assert set(out.errors) == {"S04", "S05"} and "HTTP 500" in out.errors["S05"]
    # 16 -> 8 -> 4 -> 2 (S04,S05) cannot be split below min_chunk
    assert [len(c) for c in calls if "S05" in c] == [16, 16, 8, 8, 4, 4, 2, 2]
    assert stats.splits == 3 and len(sleeps) == 4 and stats.retries == 4


def test_empty_result_is_split_and_non_retryable_not_retried():
    calls = []

    def call(batch, proxy):
        calls.append(list(batch))
        if len(batch) > 2:
            return BarBatch("1d")  # provider returned nothing for the big batch
        if "B" in batch:
            raise ProviderError("HTTP 404", status=404)
        return _bars(batch)

    out = fetch_batched(list("ABCD"), call, empty=lambda: BarBatch("1d"), batch_size=4,
                        min_chunk=2, max_retries=3, sleep=lambda s: None)
    assert sorted(out.frame["symbol"]) == ["C", "D"]
    assert set(out.errors) == {"A", "B"}
    assert calls == [list("ABCD"), ["A", "B"], ["C", "D"]]


def test_retry_after_429_succeeds_and_proxies_rotate():
    bad, good = MemoryProxy("http://bad:1", successes=5, latency_ms=1), MemoryProxy("http://good:1")
    broker = ProxyBroker([bad, good])
    seen = []

    def call(batch, proxy):
        seen.append(proxy)
        if proxy == "http://bad:1":
            raise ProviderError("tunnel", status=429, proxy_error="connect_429")
        return QuoteBatch(pd.DataFrame({"symbol": batch, "ts": pd.Timestamp.now(tz="UTC"), "price": 1.0,
                                        "prev_close": 1.0, "open": 1.0, "high": 1.0, "low": 1.0, "volume": 1}))

    out = fetch_batched(["A"], call, empty=QuoteBatch, broker=broker, sleep=lambda s: None)
    assert seen == ["http://bad:1", "http://good:1"]
    assert list(out.frame["symbol"]) == ["A"] and out.errors == {}
    assert bad.quarantined_until is not None and good.successes == 1
