"""`flask setup check`: what is wrong with this environment and how to fix it."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

from flask import current_app
from sqlalchemy import text

from app.config import secret_key_problem

Check = tuple[str, bool, str]


def run_checks() -> Iterator[Check]:
    cfg = current_app.config
    yield "environment", True, f"APP_ENV={cfg['ENV_NAME']}, version {cfg['APP_VERSION']}"

    problem = secret_key_problem(os.environ.get("SECRET_KEY"))
    if cfg["ENV_NAME"] == "production":
        yield "SECRET_KEY", problem is None, problem or "strong"
    else:
        yield "SECRET_KEY", True, problem and f"{problem}; development uses a generated key in instance/" or "strong"

    yield from _database()
    yield from _redis()

    storage = cfg["STORAGE_DIR"]
    try:
        os.makedirs(storage, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=storage):
            pass
        yield "storage", True, f"{storage} is writable"
    except OSError as exc:
        yield "storage", False, f"{storage} is not writable ({exc}); set STORAGE_DIR to a writable directory"

    if cfg["MAIL_SERVER"]:
        yield "mail", True, f"SMTP {cfg['MAIL_SERVER']}:{cfg['MAIL_PORT']} (TLS {cfg['MAIL_USE_TLS']})"
    else:
        ok = cfg["ENV_NAME"] != "production"
        yield "mail", ok, "MAIL_SERVER is unset: emails are written to the log" + ("" if ok else
                                                                                   "; set MAIL_SERVER in production")


def _database() -> Iterator[Check]:
    from app.extensions import db

    url = db.engine.url.render_as_string(hide_password=True)
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:
        db.session.rollback()
        yield "database", False, f"cannot connect to {url} ({exc.__class__.__name__}); check DATABASE_URL"
        return
    yield "database", True, f"connected to {url}"
    current, head = migration_state()
    if current == head:
        yield "migrations", True, f"at head ({head})"
    else:
        yield "migrations", False, f"database at {current or 'nothing'}, code at {head}; run: flask db upgrade"


def migration_state() -> tuple[str | None, str | None]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate

    from app.extensions import db

    migrate_ext: Migrate = current_app.extensions["migrate"].migrate
    config = migrate_ext.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head


def _redis() -> Iterator[Check]:
    import redis

    from app.redis_store import get_redis

    try:
        get_redis().ping()
    except redis.RedisError as exc:
        yield "redis", False, f"cannot reach Redis ({exc}); check REDIS_URL"
        return
    yield "redis", True, "reachable" + ("" if current_app.config.get("REDIS_URL", "").startswith("redis") else " (embedded)")
