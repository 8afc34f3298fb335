"""Periodic jobs, registered for RQ's scheduler (`rq cron app/schedule.py`, or `flask clock`).

The one place where rhythms are declared. Later domains add their jobs here (1-minute quotes
and alerts, 10-minute intraday, daily after the close, leaderboard, reviews, exports).
"""
from rq import cron

from app.ops.tasks import heartbeat

cron.register(heartbeat, "default", interval=60, name="heartbeat")

# Market data (issue 3). Each cycle checks the exchange calendar itself (the 1-minute and
# 10-minute rhythms do nothing while the market is closed; the daily one runs once per
# session from 16:30 ET, 13:30 ET after an early close), so fixed intervals are correct
# across DST changes, holidays and early closes. Each fans out into chunk jobs on `scans`.
from app.market.tasks import run_cycle  # noqa: E402

cron.register(run_cycle, "scans", args=("1m",), interval=60, job_timeout=120, name="scan-1m")
cron.register(run_cycle, "scans", args=("10m",), interval=600, job_timeout=600, name="scan-10m")
cron.register(run_cycle, "scans", args=("1d",), interval=600, job_timeout=3600, name="scan-1d")

# Alerts (issue 6): evaluation follows each 1-minute cycle (app/alerts/hooks.py); failed
# deliveries are retried with backoff by this sweep.
from app.alerts.tasks import retry_deliveries  # noqa: E402

cron.register(retry_deliveries, "default", interval=60, job_timeout=120, name="alert-delivery-retries")

# Strategies (issue 8): the leaderboard is rebuilt hourly (and after each daily cycle, by the
# after_daily_cycle hook together with forward tracking).
from app.strategies.tasks import rebuild_leaderboard  # noqa: E402

cron.register(rebuild_leaderboard, "default", interval=3600, job_timeout=1800, name="leaderboard")
