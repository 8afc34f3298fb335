"""Paper trading: the ledger (services), its 1-minute order check and daily equity
snapshots (hooks), metrics, and the /paper pages (this blueprint)."""
from flask import Blueprint

bp = Blueprint("paper", __name__, url_prefix="/paper")

from app.paper import hooks, routes  # noqa: E402,F401
