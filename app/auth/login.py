"""Flask-Login wiring and the session steps of signing in (pending 2FA, OAuth link)."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Flask, flash, request, session, url_for
from flask_login import login_user

from app.extensions import db, login_manager
from app.htmx import is_htmx, redirect
from app.models.user import User

PENDING_2FA_TTL = 300  # seconds between a correct password and the code


def configure_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        uid, _, _versions = user_id.partition(":")
        if not uid.isdigit() or len(uid) > 18:
            return None
        user = db.session.get(User, int(uid))
        if user is None or not user.active or user.get_id() != user_id:
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        # For HTMX, the page URL (not the fragment URL) is where to come back to.
        if is_htmx():
            current = request.headers.get("HX-Current-URL", "")
            parts = urlsplit(current)
            back = parts.path + (f"?{parts.query}" if parts.query else "") if parts.path else None
            return redirect(url_for("auth.login", next=safe_next(back)))
        flash(login_manager.login_message, "info")
        return redirect(url_for("auth.login", next=safe_next(request.full_path.rstrip("?"))))


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after sign-in (no open redirects). Control
    characters (CR/LF would split the Location header) make the target unusable."""
    if not target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def start_pending_2fa(user: User, remember: bool, next_url: str | None, method: str) -> None:
    session["pending_2fa"] = {
        "uid": user.id,
        "v": user.auth_version,
        "remember": bool(remember),
        "next": safe_next(next_url),
        "method": method,
        "at": int(time.time()),
    }


def pending_2fa_user() -> tuple[User | None, dict]:
    data = session.get("pending_2fa") or {}
    if not data or time.time() - data.get("at", 0) > PENDING_2FA_TTL:
        session.pop("pending_2fa", None)
        return None, {}
    user = db.session.get(User, data["uid"])
    if user is None or not user.active or user.auth_version != data.get("v"):
        session.pop("pending_2fa", None)
        return None, {}
    return user, data


def finish_login(user: User, remember: bool) -> None:
    session.pop("pending_2fa", None)
    login_user(user, remember=remember)
    session.permanent = False
