"""Journal domain: the trading journal and manual trades, performance reviews, custom
indicators and exports. One blueprint; each part has its own route module."""
from flask import Blueprint

bp = Blueprint("journal", __name__, cli_group="journal")
