"""Periodic jobs, registered for RQ's scheduler (`rq cron app/schedule.py`, or `flask clock`).

The one place where rhythms are declared. Later domains add their jobs here (1-minute quotes
and alerts, 10-minute intraday, daily after the close, leaderboard, reviews, exports).
"""
from rq import cron

from app.ops.tasks import heartbeat

cron.register(heartbeat, "default", interval=60, name="heartbeat")
