"""Run a burst RQ worker against the test database and Redis (used by test_jobs)."""
import json
import os
import sys

from app import create_app
from app.jobs import run_worker

app = create_app({
    "APP_ENV": "test",
    "SQLALCHEMY_DATABASE_URI": os.environ["TEST_WORKER_DB_URL"],
    "SQLALCHEMY_ENGINE_OPTIONS": json.loads(os.environ.get("TEST_WORKER_ENGINE_OPTIONS", "{}")),
    "REDIS_URL": os.environ["REDIS_URL"],
    "RQ_ASYNC": True,
})
with app.app_context():
    sys.exit(0 if run_worker(burst=True) is not None else 1)
