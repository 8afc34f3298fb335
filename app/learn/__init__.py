"""Education: learning paths, lessons, quizzes and per-user progress (``services``), content
files synced into the database (``content``, ``flask learn sync``), indicator explanations
rendered from the rule language's function table, and the /learn pages (this blueprint)."""
from flask import Blueprint

bp = Blueprint("learn", __name__, url_prefix="/learn", cli_group="learn")

from app.learn import cli, context, routes  # noqa: E402,F401
