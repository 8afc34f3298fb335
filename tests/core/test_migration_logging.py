"""Running the migrations in-process (as the tests do) leaves the app's loggers working:
alembic's fileConfig used to disable every existing logger, so any later test that read the
app's log (caplog) saw nothing when it ran after the migrations test on the same worker."""
import logging

from flask_migrate import upgrade

from app import create_app


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_in_process_migrations_keep_the_app_logger(app, tmp_path):
    migrate_app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.db",
                              "REDIS_URL": app.config["REDIS_URL"]})
    with migrate_app.app_context():
        upgrade()
        from app.extensions import db

        db.engine.dispose()
    assert logging.getLogger("app").disabled is False
    collect = Collect()  # as caplog's handler in a later test: on the root logger
    logging.getLogger().addHandler(collect)
    try:
        app.logger.warning("still heard")
    finally:
        logging.getLogger().removeHandler(collect)
    assert [r.getMessage() for r in collect.records] == ["still heard"]
