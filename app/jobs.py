"""Background jobs on RQ: queues, enqueue-after-commit, task context and the JobRun API.

Queues by workload: `scans` (latency-critical), `default`, `exports`, `reviews`.
Job functions live in `<domain>/tasks.py`, are decorated with `@task`, take ids only and
call services; callers enqueue them by dotted path (``enqueue("scans", "app.alerts.tasks.evaluate")``).
A user-visible job has a JobRun row that the progress fragment polls.
"""
from __future__ import annotations

import functools
import logging
import os
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app, has_app_context
from rq import Queue, Worker

from app.database import utcnow
from app.extensions import db
from app.models.jobs import JOB_FAILED, JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JobRun
from app.redis_store import get_redis

log = logging.getLogger(__name__)

QUEUES = ("scans", "default", "exports", "reviews")
_worker_app = None


def get_queue(name: str = "default") -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}; queues are {', '.join(QUEUES)}")
    return Queue(name, connection=get_redis(), is_async=current_app.config["RQ_ASYNC"])


def enqueue(queue: str, func: Callable | str, *args: Any, **kwargs: Any):
    """Enqueue a job. Refuses while the session holds unflushed or uncommitted writes:
    a worker must never pick up a job before the rows it reads are committed.

    ``func`` is preferably a dotted path (``"app.alerts.tasks.evaluate"``): a service or a
    hook then enqueues its domain's job without importing the tasks module, which imports
    the services (no services <-> tasks import cycle). RQ resolves the path when it runs."""
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("commit the session before enqueueing a job")
    return get_queue(queue).enqueue(func, *args, **kwargs)


def task(fn: Callable) -> Callable:
    """Give a job function an app context (in a worker) and a database connection of its own
    (connections are never shared across the fork of RQ's work horse)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        if has_app_context():
            _fresh_connections_after_fork()
            return fn(*args, **kwargs)
        with worker_app().app_context():
            _fresh_connections_after_fork()
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper


def worker_app():
    global _worker_app
    if _worker_app is None:
        from app import create_app

        _worker_app = create_app()
    return _worker_app


def _fresh_connections_after_fork() -> None:
    app = current_app._get_current_object()
    pid = os.getpid()
    if app.extensions.get("db_pid") not in (None, pid):
        db.engine.dispose(close=False)
    app.extensions["db_pid"] = pid


# --- JobRun: the user-visible side of a job ---------------------------------------------


def start_job(kind: str, func: Callable | str, *args: Any, owner_id: int | None = None,
              queue: str = "default", message: str | None = None, **job_kwargs: Any) -> JobRun:
    """Create a JobRun, commit it, then enqueue `func(job_run_id, *args)`."""
    run = JobRun(kind=kind, owner_id=owner_id, queue=queue, status=JOB_QUEUED, message=message or "Queued")
    db.session.add(run)
    db.session.commit()
    job = enqueue(queue, func, run.id, *args, **job_kwargs)
    if job is not None:
        # An inline (synchronous) job may already have finished and set the status.
        db.session.refresh(run)
        run.rq_job_id = job.id
        db.session.commit()
    return run


@contextmanager
def job_run(job_run_id: int) -> Iterator[JobRun]:
    """Mark a JobRun running, then succeeded, or failed with the error (which is re-raised
    so RQ records the failure too)."""
    run = db.session.get(JobRun, job_run_id)
    if run is None:
        raise LookupError(f"JobRun {job_run_id} does not exist")
    run.status, run.started_at, run.progress = JOB_RUNNING, utcnow(), 0
    run.message = "Running"
    db.session.commit()
    try:
        yield run
    except Exception as exc:
        db.session.rollback()
        run = db.session.get(JobRun, job_run_id)
        run.status, run.finished_at = JOB_FAILED, utcnow()
        run.message = f"Failed: {str(exc)[:200]}"
        run.error = traceback.format_exc()[-4000:]
        db.session.commit()
        raise
    else:
        run.status, run.finished_at, run.progress = JOB_SUCCEEDED, utcnow(), 100
        if run.message == "Running":
            run.message = "Done"
        db.session.commit()


def set_progress(run: JobRun, percent: int, message: str | None = None) -> None:
    run.progress = max(0, min(100, int(percent)))
    if message:
        run.message = message[:255]
    db.session.commit()


def run_worker(queues: tuple[str, ...] = QUEUES, burst: bool = False, with_scheduler: bool = False) -> bool:
    """Run an RQ worker inside the current app context (used by `flask worker`)."""
    db.engine.dispose()  # the work horse forks: start without inherited connections
    worker = Worker([Queue(q, connection=get_redis()) for q in queues], connection=get_redis())
    return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="INFO")


def worker_status() -> list[dict[str, Any]]:
    """Workers known to Redis with their last heartbeat (admin page)."""
    workers = Worker.all(connection=get_redis())
    return [
        {
            "name": w.name,
            "state": w.get_state(),
            "queues": ", ".join(w.queue_names()),
            "last_heartbeat": w.last_heartbeat,
            "current_job": w.get_current_job_id(),
            "successful": w.successful_job_count,
            "failed": w.failed_job_count,
        }
        for w in workers
    ]


def queue_depths() -> dict[str, int]:
    return {name: Queue(name, connection=get_redis()).count for name in QUEUES}
