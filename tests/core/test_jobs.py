"""Jobs: enqueue-after-commit, JobRun progress, the progress fragment and a real worker."""
import json
import os
import subprocess
import sys

import pytest

from app.extensions import db as _db
from app.jobs import enqueue, job_run, set_progress, start_job, task
from app.models import JobRun, User


@task
def sample_job(run_id: int, fail: bool = False) -> None:
    with job_run(run_id) as run:
        set_progress(run, 50, "Halfway")
        if fail:
            raise ValueError("the data was bad")


def test_enqueue_refuses_uncommitted_writes(db, factories):
    db.session.add(User(email="x@example.com", display_name="x"))
    with pytest.raises(RuntimeError, match="commit the session before enqueueing"):
        enqueue("default", sample_job, 1)
    db.session.rollback()


def test_unknown_queue_is_refused(db):
    with pytest.raises(ValueError, match="unknown queue"):
        enqueue("nope", sample_job, 1)


def test_job_run_success_and_failure_are_recorded(db, factories):
    owner = factories.user()
    run = start_job("sample", sample_job, owner_id=owner.id)
    db.session.refresh(run)
    assert (run.status, run.progress, run.message) == ("succeeded", 100, "Halfway")
    assert run.started_at is not None and run.finished_at >= run.started_at
    failed = start_job("sample", sample_job, True, owner_id=owner.id)
    db.session.refresh(failed)
    assert failed.status == "failed"
    assert failed.message == "Failed: the data was bad" and "ValueError" in failed.error
    # The error was re-raised, so RQ recorded the failure too.
    from rq.job import Job

    from app.redis_store import get_redis

    assert Job.fetch(failed.rq_job_id, connection=get_redis()).get_status() == "failed"


def test_progress_fragment_is_owner_scoped_and_stops_polling(client, login, db, factories):
    owner, stranger = factories.user(), factories.user()
    run = JobRun(kind="export", owner_id=owner.id, queue="exports", status="running", progress=40, message="Writing")
    db.session.add(run)
    db.session.commit()
    assert client.get(f"/jobs/{run.id}/progress").status_code == 303
    login(stranger)
    assert client.get(f"/jobs/{run.id}/progress").status_code == 404
    login(owner)
    body = client.get(f"/jobs/{run.id}/progress").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in body and 'value="40"' in body
    run.status, run.progress = "succeeded", 100
    db.session.commit()
    body = client.get(f"/jobs/{run.id}/progress").get_data(as_text=True)
    assert "hx-trigger" not in body and "Succeeded" in body


def test_real_worker_runs_a_job_from_redis(app, db, factories, tmp_path):
    """Enqueue on real Redis and let `flask worker --burst` (a separate process) run it."""
    owner = factories.user()
    app.config["RQ_ASYNC"] = True
    try:
        run = start_job("heartbeat-check", heartbeat_job, owner_id=owner.id)
    finally:
        app.config["RQ_ASYNC"] = False
    assert run.status == "queued" and run.rq_job_id
    env = dict(os.environ, APP_ENV="test", PYTHONPATH=os.getcwd(),
               REDIS_URL=app.config["REDIS_URL"], TEST_WORKER_DB_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               TEST_WORKER_ENGINE_OPTIONS=json.dumps(app.config["SQLALCHEMY_ENGINE_OPTIONS"]))
    result = subprocess.run([sys.executable, "-m", "tests.core.worker_entry"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    _db.session.expire_all()
    done = _db.session.get(JobRun, run.id)
    assert done.status == "succeeded", (done.status, done.error, result.stderr[-2000:])


@task
def heartbeat_job(run_id: int) -> None:
    from app.ops.services import record_clock_tick

    with job_run(run_id):
        record_clock_tick()
