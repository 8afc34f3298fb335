"""Alerts: rules, their evaluation after every 1-minute cycle, triggered alerts, channels."""
from flask import Blueprint

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

from app.alerts import hooks, routes  # noqa: E402,F401
