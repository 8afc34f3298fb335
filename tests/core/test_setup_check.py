def test_setup_check_passes_on_a_migrated_database(app, db, tmp_path):
    from flask_migrate import stamp

    stamp(revision="head")  # the test schema is built by create_all, i.e. at head
    result = app.test_cli_runner().invoke(args=["setup", "check"])
    assert result.exit_code == 0, result.output
    for name in ("environment", "SECRET_KEY", "database", "migrations", "redis", "storage", "mail"):
        assert f"] {name}:" in result.output
    assert "FAIL" not in result.output


def test_setup_check_reports_redis_down_and_how_to_fix(app, db):
    import redis

    real = app.extensions["redis"]
    app.extensions["redis"] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        result = app.test_cli_runner().invoke(args=["setup", "check"])
    finally:
        app.extensions["redis"] = real
    assert result.exit_code == 1
    assert "FAIL] redis: cannot reach Redis" in result.output and "check REDIS_URL" in result.output


def test_setup_check_reports_pending_migrations(app, db):
    from sqlalchemy import text

    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    result = app.test_cli_runner().invoke(args=["setup", "check"])
    assert result.exit_code == 1
    assert "database at nothing" in result.output and "flask db upgrade" in result.output
