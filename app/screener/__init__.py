"""The screener: screen definitions (``definition``), the query engine (``queries``),
presets, saved screens and their membership (``services``, ``hooks``) and the /screener
pages (this blueprint)."""
from flask import Blueprint

bp = Blueprint("screener", __name__, url_prefix="/screener")

from app.screener import hooks, routes  # noqa: E402,F401
