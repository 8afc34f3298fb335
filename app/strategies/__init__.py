"""Strategies: rule-based strategies, backtests (engine), forward tracking through the paper
ledger, the composite score and the leaderboard."""
from flask import Blueprint

bp = Blueprint("strategies", __name__)

from app.strategies import hooks, routes  # noqa: E402,F401
