"""``python -m bench scanner``: one full 1-minute cycle for 5,000 symbols with the simulated
provider (quote fetch + snapshot upsert with market cap + live indicator refresh), on SQLite and PostgreSQL.

Goal: <= 5 s median per cycle; peak RSS of the worker process <= 500 MB. The cycle runs
in a fresh child process (the "worker") after the setup (universe and indicator state)
so its peak memory is the cycle's, not the setup's.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time

from bench._util import report

N = int(os.environ.get("BENCH_SCANNER_SYMBOLS", 5000))
RUNS = 5
BACKENDS = ("sqlite", "postgresql")
# a trading minute (the cycle ignores the clock with force=True anyway)
T0 = dt.datetime(2025, 11, 26, 15, 0, tzinfo=dt.UTC)


def _measure(backend: str) -> dict:
    from bench._market import market_app, peak_rss_mb, seed_stocks

    with market_app(backend):

        from app.database import utcnow
        from app.market import compute, services
        from app.market.providers.simulated import SimulatedProvider

        ids = seed_stocks(N)
        # setup: indicator state as the daily job leaves it (computed in memory, one upsert)
        sim = SimulatedProvider(seed=42)
        stocks = services.stock_ids()
        for i in range(0, N, 1000):
            part = stocks.iloc[i:i + 1000]
            bars = sim.bars(part["symbol"].tolist(), "1d", dt.date(2024, 9, 1), dt.date(2025, 11, 25)).frame
            bars = bars.merge(part, on="symbol").drop(columns="symbol").rename(columns={"stock_id": "symbol"})
            services.bulk_upsert(services.StockIndicator.__table__,
                                 services.indicator_rows(compute.daily_indicators(bars), utcnow()), ["stock_id"])
            services.db.session.commit()
        del bars
        # shares outstanding (the daily fundamentals step), so the cycle writes market caps
        from app.market import fundamentals
        fundamentals.refresh(stocks, sim)
        services.db.session.commit()
        rss_setup = peak_rss_mb()
        # the measured part runs in a child process: a worker that only does cycles
        url = services.db.engine.url.render_as_string(hide_password=False)
        opts = services.current_app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        child = subprocess.run(
            [sys.executable, "-m", "bench.scanner", "--cycles", url, json.dumps(opts.get("connect_args", {})),
             services.current_app.config["REDIS_URL"]],
            capture_output=True, text=True, check=True)
        out = json.loads(child.stdout.strip().splitlines()[-1])
        out["setup_rss_mb"] = rss_setup
        out["stocks"] = len(ids)
        return out


def _cycles(url: str, connect_args: str, redis_url: str) -> None:
    from app import create_app
    from app.market import services
    from bench._market import peak_rss_mb

    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": json.loads(connect_args)},
                      "REDIS_URL": redis_url, "MARKET_DATA_PROVIDER": "simulated",
                      "MARKET_CLOCK": "always-open", "LOG_LEVEL": "WARNING"})
    times = []
    with app.app_context():
        for k in range(RUNS + 1):  # the first is a warm-up
            started = time.perf_counter()
            run_id = services.start_cycle("1m", force=True, inline=True, now=T0 + dt.timedelta(minutes=k))
            elapsed = time.perf_counter() - started
            run = services.db.session.get(services.ScanRun, run_id)
            assert run.status == "succeeded" and run.symbols_ok == N, (run.status, run.error_summary)
            if k:
                times.append(elapsed)
    print(json.dumps({"median_s": statistics.median(times), "min_s": min(times), "peak_rss_mb": peak_rss_mb()}))


def run() -> None:
    for backend in BACKENDS:
        try:
            r = _measure(backend)
        except Exception as exc:  # e.g. no PostgreSQL here: say so, keep going
            print(json.dumps({"bench": "scanner", "metric": f"{backend}_error", "value": None, "unit": str(exc)[:200],
                              "goal": None}), flush=True)
            continue
        report("scanner", f"cycle_1m_{N}_symbols_{backend}_median", r["median_s"], "s", "<= 5 s")
        report("scanner", f"symbols_per_second_{backend}", N / r["median_s"], "symbols/s", None)
        report("scanner", f"worker_peak_rss_{backend}", r["peak_rss_mb"], "MB", "<= 500 MB")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--cycles":
        _cycles(*sys.argv[2:5])
    else:
        run()
