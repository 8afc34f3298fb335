"""RQ jobs of the strategies domain (ids only; they call services)."""
from __future__ import annotations

import logging

from app.extensions import db
from app.jobs import job_run, set_progress, task

log = logging.getLogger(__name__)


@task
def run_backtest(job_run_id: int, backtest_id: int) -> int:
    from app.models.strategies import Backtest
    from app.strategies import services

    with job_run(job_run_id) as run:
        bt = db.session.get(Backtest, backtest_id)
        bt.status = "running"
        bt.job_run_id = run.id
        run.result_ref = f"backtest:{backtest_id}"
        set_progress(run, 2, "Loading daily bars")
        try:
            services.execute_backtest(backtest_id, progress=lambda f, msg=None: set_progress(run, int(f * 100), msg))
        except Exception as exc:
            db.session.rollback()
            bt = db.session.get(Backtest, backtest_id)
            bt.status, bt.error = "failed", str(getattr(exc, "message", exc))[:500]
            db.session.commit()
            raise
        set_progress(run, 100, "Backtest finished")
    return backtest_id


@task
def rebuild_leaderboard() -> dict:
    from app.strategies.queries import rebuild_leaderboard as rebuild

    stats = rebuild()
    log.info("leaderboard rebuilt: %s", stats)
    return stats


@task
def recalculate_job(job_run_id: int, strategy_id: int) -> dict:
    from app.strategies.queries import rebuild_strategy

    with job_run(job_run_id) as run:
        run.result_ref = f"strategy:{strategy_id}"
        set_progress(run, 10, "Recomputing this strategy's scores")
        stats = rebuild_strategy(strategy_id)
        set_progress(run, 100, f"Scores recomputed ({stats['rows']} leaderboard rows)")
    return stats


@task
def track_and_rank(session_iso: str | None = None) -> dict:
    """After the daily scan: trade every tracked strategy, then rebuild the leaderboard."""
    import datetime as dt

    from app.strategies.queries import rebuild_leaderboard as rebuild
    from app.strategies.tracking import track_all

    stats = track_all(until=dt.date.fromisoformat(session_iso) if session_iso else None)
    stats["board"] = rebuild()
    return stats

