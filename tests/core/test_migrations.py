"""The migrations build exactly the models' schema, on SQLite and (in CI) PostgreSQL."""
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db as _db

pytestmark = pytest.mark.smoke


@pytest.fixture()
def empty_database(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path}/migrate.db", {}
        return
    from app.config import normalise_database_url

    url = normalise_database_url(url)
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield url, {"connect_args": {"options": f"-csearch_path={schema}"}}
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def test_upgrade_matches_models_and_downgrade_empties(app, empty_database):
    url, options = empty_database
    migrate_app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": options,
                              "REDIS_URL": app.config["REDIS_URL"]})
    with migrate_app.app_context():
        upgrade()
        with _db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), _db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        tables = set(inspect(_db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        _db.engine.dispose()
