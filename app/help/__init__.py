"""Help center: articles (FAQ, how-to, troubleshooting) from ``content/help/`` synced into
the database (``content``; run by ``flask learn sync`` and ``flask help sync``), search over
title, body and tags, "was this helpful" votes, popular and most-helpful lists (``services``),
the /help pages (this blueprint) and the first-visit walkthroughs (``walkthrough``)."""
from flask import Blueprint

bp = Blueprint("help", __name__, url_prefix="/help", cli_group="help")

from app.help import cli, routes, walkthrough  # noqa: E402,F401
