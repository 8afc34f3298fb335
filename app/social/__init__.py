"""Social domain: profiles, follows, activity feed, copy trading, strategy shares, referrals."""
from flask import Blueprint

bp = Blueprint("social", __name__, cli_group="social")
