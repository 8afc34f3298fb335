"""Watchlists: lists of symbols with note, target, stop and price when added (``services``)
and the /watchlists pages (this blueprint)."""
from flask import Blueprint

bp = Blueprint("watchlists", __name__, url_prefix="/watchlists")

from app.watchlists import routes  # noqa: E402,F401
