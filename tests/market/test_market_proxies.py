import datetime as dt

import pytest
import requests

from app.market import proxies as px

NOW = dt.datetime(2025, 11, 28, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("error,kind", [
    ("curl: (56) CONNECT tunnel failed, response 407", "connect_407"),
    ("Received HTTP code 403 from proxy after CONNECT", "connect_403"),
    ("CONNECT returned 502", "connect_502"),
    ("Tunnel connection failed: 200", "tunnel_failed"),
    (ConnectionRefusedError("[Errno 111] Connection refused"), "refused"),
    (ConnectionResetError("[Errno 104] Connection reset by peer"), "reset"),
    (requests.exceptions.ConnectTimeout("connect timeout"), "timeout"),
    ("Operation timed out after 10001 milliseconds", "timeout"),
    ("[Errno 113] No route to host", "unreachable"),
    ("Network is unreachable", "unreachable"),
    ("Expecting value: line 1 column 1 (char 0)", "other"),
    ("CONNECT returned 200 then 404", "other"),
])
def test_classify_error(error, kind):
    assert px.classify_error(error) == kind
    assert px.is_hard(kind) == (kind != "other")


def test_latency_moving_average_80_20_and_success_clears_quarantine():
    p = px.MemoryProxy("http://a:1", quarantined_until=NOW)
    px.record_success(p, 100, NOW)
    assert p.latency_ms == 100 and p.successes == 1 and p.quarantined_until is None
    px.record_success(p, 200, NOW)
    assert p.latency_ms == pytest.approx(120.0)
    px.record_success(p, 20, NOW)
    assert p.latency_ms == pytest.approx(100.0)


def test_hard_error_quarantines_at_once_soft_after_repeat():
    hard = px.MemoryProxy("http://h:1")
    assert px.record_failure(hard, "connect_407", NOW) is True
    assert hard.quarantined_until == NOW + dt.timedelta(minutes=30)
    soft = px.MemoryProxy("http://s:1")
    assert px.record_failure(soft, "other", NOW, "bad json") is False
    assert soft.quarantined_until is None and soft.last_error == "other: bad json"
    assert px.record_failure(soft, "other", NOW) is True
    assert soft.failures == 2
    # quarantine ends after 30 minutes
    assert not px.is_available(soft, NOW + dt.timedelta(minutes=29))
    assert px.is_available(soft, NOW + dt.timedelta(minutes=30))


def test_selection_order():
    never = px.MemoryProxy("never")
    few_fast = px.MemoryProxy("few_fast", successes=2, latency_ms=50)
    many_slow = px.MemoryProxy("many_slow", successes=9, latency_ms=900)
    many_fast = px.MemoryProxy("many_fast", successes=9, latency_ms=300)
    quarantined = px.MemoryProxy("q", successes=99, latency_ms=1, quarantined_until=NOW + dt.timedelta(minutes=1))
    disabled = px.MemoryProxy("d", successes=99, enabled=False)
    rows = [never, few_fast, many_slow, quarantined, disabled, many_fast]
    ranked = sorted([r for r in rows if px.is_available(r, NOW)], key=px.selection_key)
    assert [r.url for r in ranked] == ["many_fast", "many_slow", "few_fast", "never"]
    assert px.select(rows, NOW).url == "many_fast"
    assert px.select([quarantined, disabled], NOW) is None  # direct connection


def test_broker_reports_to_rows():
    a, b = px.MemoryProxy("a", successes=1, latency_ms=10), px.MemoryProxy("b")
    broker = px.ProxyBroker([a, b], clock=lambda: NOW)
    assert broker.pick() == "a"
    broker.report("a", False, kind="reset")
    assert broker.pick() == "b"
    broker.report(None, False)  # direct connection: nothing to record
