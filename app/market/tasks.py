"""Scanner jobs (RQ, queue ``scans``). They take ids and plain values and call services.

``run_cycle`` is what ``rq cron`` enqueues (see ``app/schedule.py``); it fans out into one
``run_chunk`` job per chunk of stocks so several workers share a cycle.
"""
from __future__ import annotations

import datetime as dt

from app.jobs import task
from app.market import services


@task
def run_cycle(kind: str, force: bool = False, symbols: list[str] | None = None) -> int | None:
    return services.start_cycle(kind, force=force, symbols=symbols)


@task
def run_chunk(run_id: int, kind: str, ids: list[int], session_iso: str | None = None,
              now_iso: str | None = None) -> dict:
    session = dt.date.fromisoformat(session_iso) if session_iso else None
    now = dt.datetime.fromisoformat(now_iso) if now_iso and kind != "1m" else None
    res = services.run_chunk(run_id, kind, ids, session, now)
    return {"asked": res.asked, "ok": res.ok, "failed": res.failed, "rows": res.rows}
