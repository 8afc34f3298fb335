"""Account emails, sent by a worker (tokens are minted in the job, never stored in Redis)."""
from __future__ import annotations

from flask import render_template, url_for

from app.extensions import db
from app.jobs import task
from app.mail import send_mail
from app.models.user import User

SUBJECTS = {
    "confirm": "Confirm your email",
    "already_registered": "Someone tried to register with your email",
    "reset": "Reset your password",
    "change_email": "Confirm your new email address",
    "password_changed": "Your password was changed",
}


@task
def send_account_email(user_id: int, kind: str) -> None:
    from app.auth import services

    user = db.session.get(User, user_id)
    if user is None or kind not in SUBJECTS:
        return
    to = user.email
    link = None
    if kind == "confirm":
        link = _external("auth.confirm_email", token=services.confirmation_token(user))
    elif kind == "reset":
        link = _external("auth.reset_password", token=services.reset_token(user))
    elif kind == "change_email":
        if not user.pending_email:
            return
        to = user.pending_email
        link = _external("auth.confirm_email_change", token=services.email_change_token(user))
    elif kind == "already_registered":
        link = _external("auth.forgot_password")
    text = render_template(f"email/{kind}.txt", user=user, link=link)
    send_mail(to, SUBJECTS[kind], text)


@task
def send_password_reset(email: str, ip: str) -> None:
    """Look the address up here, not in the request, so both answers take the same time."""
    from app.auth import services

    user = services.reset_requested(email, ip)
    if user is not None:
        send_account_email(user.id, "reset")


def _external(endpoint: str, **values) -> str:
    """An absolute link on BASE_URL (workers have no request to build URLs from)."""
    from flask import current_app

    with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
        return url_for(endpoint, _external=True, **values)
