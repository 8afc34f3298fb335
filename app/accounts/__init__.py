from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/account")

from app.accounts import routes  # noqa: E402,F401
