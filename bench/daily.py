"""``python -m bench daily``: daily bar ingest (bulk upsert) for 5,000 symbols, × 1 bar
(the nightly append) and × 260 bars (the initial load), on SQLite and PostgreSQL.

Goal: >= 50,000 rows/s on PostgreSQL. Bars are generated beforehand (not timed); the
timed part is the upsert and its commit: the initial load in chunks of 500 stocks (as the
daily chunk jobs write it), the nightly append as one upsert of 5,000 rows.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import time

from bench._util import report

N = int(os.environ.get("BENCH_DAILY_SYMBOLS", 5000))
CHUNK = 500
BACKENDS = ("sqlite", "postgresql")


def _frames(ids_frame, start, end):
    from app.market import services
    from app.market.providers.simulated import SimulatedProvider

    sim = SimulatedProvider(seed=7)
    out = []
    for i in range(0, len(ids_frame), CHUNK):
        part = ids_frame.iloc[i:i + CHUNK]
        bars = sim.bars(part["symbol"].tolist(), "1d", start, end).frame
        out.append(services.bars_frame(bars, part, "1d"))
    return out


def _ingest(frames) -> float:
    from app.market import services

    started = time.perf_counter()
    for f in frames:
        services.upsert_bars(f)
        services.db.session.commit()
    return time.perf_counter() - started


def _measure(backend: str) -> dict:
    from bench._market import market_app, seed_stocks

    with market_app(backend):
        from sqlalchemy import delete

        from app.market import services

        seed_stocks(N)
        ids = services.stock_ids()
        initial = _frames(ids, dt.date(2024, 10, 1), dt.date(2025, 10, 6))
        rows_initial = sum(len(f) for f in initial)
        t_initial = []
        for k in range(3):
            if k:
                services.db.session.execute(delete(services.Bar))
                services.db.session.commit()
            t_initial.append(_ingest(initial))
        update_same = _ingest(initial)  # idempotent re-run: every row conflicts and updates
        # the nightly append: one bar per stock, one upsert for the whole universe
        import pandas as pd
        day = [pd.concat(_frames(ids, dt.date(2025, 10, 7), dt.date(2025, 10, 7)), ignore_index=True)]
        rows_day = sum(len(f) for f in day)
        t_day = [_ingest(day) for _ in range(5)]
        return {"rows_initial": rows_initial, "t_initial": statistics.median(t_initial), "rows_day": rows_day,
                "t_day": statistics.median(t_day), "t_update": update_same}


def run() -> None:
    for backend in BACKENDS:
        try:
            r = _measure(backend)
        except Exception as exc:
            print(json.dumps({"bench": "daily", "metric": f"{backend}_error", "value": None, "unit": str(exc)[:200],
                              "goal": None}), flush=True)
            continue
        goal = ">= 50000 rows/s" if backend == "postgresql" else None
        report("daily", f"initial_load_{N}x260_{backend}_rows_per_s", r["rows_initial"] / r["t_initial"], "rows/s", goal)
        report("daily", f"initial_load_{N}x260_{backend}_seconds", r["t_initial"], "s", None)
        report("daily", f"reupsert_{N}x260_{backend}_rows_per_s", r["rows_initial"] / r["t_update"], "rows/s", goal)
        report("daily", f"append_{N}x1_{backend}_rows_per_s", r["rows_day"] / r["t_day"], "rows/s", goal)
        report("daily", f"append_{N}x1_{backend}_seconds", r["t_day"], "s", None)


if __name__ == "__main__":
    run()
