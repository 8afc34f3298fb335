import pytest

pytestmark = pytest.mark.smoke


def test_health_reports_only_status(client, db):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.get_json() == {"status": "healthy"}
    assert r.headers["Cache-Control"] == "no-store"


def test_health_writes_nothing(client, db):
    from sqlalchemy import func, select

    from app.models import AuditEvent, JobRun

    client.get("/health")
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0
    assert db.session.scalar(select(func.count(JobRun.id))) == 0


def test_unhealthy_when_redis_is_down(app, client, db):
    import redis

    real = app.extensions["redis"]
    app.extensions["redis"] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        r = client.get("/health")
        assert r.status_code == 503 and r.get_json() == {"status": "unhealthy"}
    finally:
        app.extensions["redis"] = real


def test_500_page_hides_the_error_and_logs_request_id(app, client, db, caplog, monkeypatch):
    def boom():
        raise RuntimeError("secret internals")

    monkeypatch.setitem(app.view_functions, "ops.health", boom)
    r = client.get("/health")
    assert r.status_code == 500
    body = r.get_data(as_text=True)
    assert "Something went wrong" in body and "secret internals" not in body and "Traceback" not in body
    request_id = r.headers["X-Request-ID"]
    assert request_id in body
    assert any(request_id in rec.getMessage() and rec.exc_info for rec in caplog.records)


def test_htmx_error_gets_a_fragment_not_a_page(hx, db):
    r = hx.get("/no/such/thing")
    assert r.status_code == 404
    body = r.get_data(as_text=True)
    assert "<html" not in body and "data-error-message" in body


def test_method_not_allowed_has_allow_header(client, db):
    r = client.post("/health")
    assert r.status_code in (400, 405)  # CSRF runs first for POSTs
    r = client.delete("/health")
    assert r.status_code in (400, 405)
