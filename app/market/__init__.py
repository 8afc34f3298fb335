"""The market domain: stock pages, chart data and the admin scanners page (this
blueprint), plus the engines other domains use: providers/, indicators, calendar,
compute, the scanners (services + tasks) and their hooks.

CLI (``flask scan ...``) hangs off this blueprint's command group.
"""
from flask import Blueprint

bp = Blueprint("market", __name__, cli_group="scan")

from app.market import cli, routes  # noqa: E402,F401
