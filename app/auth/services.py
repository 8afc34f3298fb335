"""Account services: registration, sign-in, email confirmation, passwords, email change.

No request, flash or session here: routes pass in what they parsed and decide what to show.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from app import audit
from app.auth import throttle
from app.database import utcnow
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.jobs import enqueue
from app.models.billing import Subscription
from app.models.user import ROLE_ADMIN, ROLE_USER, User
from app.security import TokenError, hash_password, make_token, password_problems, read_token, verify_password

INVALID_LOGIN = "Email or password is not correct."


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    email = normalise_email(email)
    return db.session.scalar(select(User).where(func.lower(User.email) == email))


def _check_password(password: str, email: str, display_name: str = "", field: str = "password") -> None:
    problems = password_problems(password, email=email, display_name=display_name)
    if problems:
        raise InvalidInput(" ".join(problems), field=field)


def create_user(email: str, display_name: str, password: str | None, *, role: str = ROLE_USER,
                confirmed: bool = False, password_hash: str | None = None) -> User:
    """Create a user on the free plan (no commit). `password_hash` when already computed."""
    user = User(
        email=normalise_email(email),
        display_name=display_name.strip()[:60],
        password_hash=password_hash or (hash_password(password) if password else None),
        role=role,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.add(Subscription(user=user, plan="free", status="active"))
    return user


def register(email: str, display_name: str, password: str, *, ip: str) -> User | None:
    """Register a new account and mail a confirmation link.

    For an email that already has an account nothing is created and its owner is told by
    mail, so the response never reveals whether an address is registered - neither by its
    content nor by its time: both paths count one mail against the throttle, hash the
    password once and enqueue exactly one mail job.
    """
    email = normalise_email(email)
    _check_password(password, email, display_name)
    throttle.account_mail(email, ip)
    password_hash = hash_password(password)
    existing = find_user_by_email(email)
    if existing is not None:
        enqueue("default", send_account_email_task(), existing.id, "already_registered")
        return None
    user = create_user(email, display_name, None, password_hash=password_hash)
    db.session.flush()
    audit.record(audit.REGISTERED, user=user)
    db.session.commit()
    enqueue("default", send_account_email_task(), user.id, "confirm")
    return user


def send_account_email_task() -> str:
    # by dotted path: the tasks module imports these services (no services <-> tasks cycle)
    return "app.auth.tasks.send_account_email"


# --- sign-in ---------------------------------------------------------------------------


@dataclass
class LoginResult:
    user: User
    needs_2fa: bool


def authenticate(email: str, password: str, ip: str) -> LoginResult:
    """Check a password sign-in (throttled per account and per address)."""
    email = normalise_email(email)
    throttle.attempt(email, ip)
    user = find_user_by_email(email)
    # The KDF runs once on every path (a dummy hash for unknown and password-less accounts),
    # so the answer's timing does not tell whether the address is registered.
    password_ok = verify_password(user.password_hash if user is not None else None, password)
    if user is None or not password_ok or not user.active:
        if user is not None:
            audit.record(audit.LOGIN_FAILED, user=user, reason="inactive" if user.active is False else "password")
            db.session.commit()
        raise InvalidInput(INVALID_LOGIN)
    throttle.succeeded(email, ip)
    return LoginResult(user=user, needs_2fa=user.has_2fa)


def mark_logged_in(user: User, method: str = "password") -> None:
    user.last_login_at = utcnow()
    audit.record(audit.LOGIN_SUCCEEDED, user=user, method=method)
    db.session.commit()


def mark_logged_out(user: User) -> None:
    """End the sign-in server-side: the session and remember-me cookies carry the old
    session_version, so a copy captured before sign-out signs nobody in afterwards."""
    user.session_version = (user.session_version or 1) + 1
    audit.record(audit.LOGOUT, user=user)
    db.session.commit()


# --- email confirmation and change -----------------------------------------------------


def confirmation_token(user: User) -> str:
    return make_token("confirm-email", {"uid": user.id, "email": user.email})


def confirm_email(token: str) -> User:
    try:
        data = read_token("confirm-email", token, current_app.config["EMAIL_TOKEN_MAX_AGE"])
    except TokenError as exc:
        raise InvalidInput(str(exc)) from exc
    user = db.session.get(User, data.get("uid"))
    if user is None or user.email != data.get("email"):
        raise InvalidInput("This link is not valid any more. Ask for a new one.")
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        audit.record(audit.EMAIL_CONFIRMED, user=user)
        db.session.commit()
    return user


def resend_confirmation(user: User) -> None:
    if not user.email_confirmed:
        enqueue("default", send_account_email_task(), user.id, "confirm")


def email_change_token(user: User) -> str:
    return make_token("change-email", {"uid": user.id, "new": user.pending_email, "v": user.auth_version})


def request_email_change(user: User, password: str, new_email: str) -> None:
    new_email = normalise_email(new_email)
    if user.password_hash and not verify_password(user.password_hash, password):
        raise InvalidInput("Your current password is not correct.", field="password")
    if new_email == user.email:
        raise InvalidInput("This is already your email address.", field="email")
    user.pending_email = new_email
    audit.record(audit.EMAIL_CHANGE_REQUESTED, user=user)
    db.session.commit()
    # A taken address gets the same answer; the change simply fails at confirmation.
    enqueue("default", send_account_email_task(), user.id, "change_email")


def confirm_email_change(token: str) -> User:
    try:
        data = read_token("change-email", token, current_app.config["EMAIL_TOKEN_MAX_AGE"])
    except TokenError as exc:
        raise InvalidInput(str(exc)) from exc
    user = db.session.get(User, data.get("uid"))
    if user is None or user.pending_email != data.get("new") or user.auth_version != data.get("v"):
        raise InvalidInput("This link is not valid any more. Ask for a new one.")
    if find_user_by_email(data["new"]) is not None:
        raise InvalidInput("Another account already uses this email address.")
    old = user.email
    user.email, user.pending_email, user.email_confirmed_at = data["new"], None, utcnow()
    audit.record(audit.EMAIL_CHANGED, user=user, old=old, new=user.email)
    db.session.commit()
    return user


# --- passwords -------------------------------------------------------------------------


def reset_token(user: User) -> str:
    # auth_version makes the link single use: a reset bumps it.
    return make_token("reset-password", {"uid": user.id, "v": user.auth_version})


def request_password_reset(email: str, *, ip: str) -> None:
    """Mail a reset link when the account exists; say nothing either way.

    Every request counts against the mail throttle and enqueues the same job, which looks
    the address up in the worker: the answer takes the same time whether or not an account
    exists.
    """
    email = normalise_email(email)
    throttle.account_mail(email, ip)
    enqueue("default", "app.auth.tasks.send_password_reset", email, ip)


def reset_requested(email: str, ip: str) -> User | None:
    """The worker's side of a reset request: the account to mail (audited), or None when
    the address has no real, active account (then nothing is recorded or sent)."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        return None
    audit.record(audit.PASSWORD_RESET_REQUESTED, user=user, ip=ip)
    db.session.commit()
    return user


def user_for_reset_token(token: str) -> User:
    try:
        data = read_token("reset-password", token, current_app.config["PASSWORD_RESET_MAX_AGE"])
    except TokenError as exc:
        raise InvalidInput(str(exc)) from exc
    user = db.session.get(User, data.get("uid"))
    if user is None or user.auth_version != data.get("v") or not user.active:
        raise InvalidInput("This link has already been used. Ask for a new one.")
    return user


def reset_password(token: str, new_password: str) -> User:
    user = user_for_reset_token(token)
    _check_password(new_password, user.email, user.display_name)
    user.password_hash = hash_password(new_password)
    user.auth_version += 1
    # The reset proved control of the mailbox.
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    audit.record(audit.PASSWORD_RESET, user=user)
    db.session.commit()
    throttle.reset_account(user.email)
    return user


def change_password(user: User, current: str, new_password: str) -> None:
    if user.password_hash and not verify_password(user.password_hash, current):
        raise InvalidInput("Your current password is not correct.", field="current_password")
    _check_password(new_password, user.email, user.display_name, field="new_password")
    user.password_hash = hash_password(new_password)
    user.auth_version += 1  # signs out every other session and remember-me cookie
    audit.record(audit.PASSWORD_CHANGED, user=user)
    db.session.commit()
    enqueue("default", send_account_email_task(), user.id, "password_changed")


def update_profile(user: User, display_name: str) -> None:
    name = display_name.strip()
    if not name:
        raise InvalidInput("Enter a display name.", field="display_name")
    user.display_name = name[:60]
    db.session.commit()


# --- admin -----------------------------------------------------------------------------


def set_role(admin: User, user_id: int, role: str) -> User:
    if role not in (ROLE_USER, ROLE_ADMIN):
        raise InvalidInput("Unknown role.")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if user.id == admin.id and role != ROLE_ADMIN:
        raise InvalidInput("You cannot remove your own admin role; ask another admin.")
    if user.role != role:
        old, user.role = user.role, role
        audit.record(audit.ROLE_CHANGED, user=user, actor=admin, old=old, new=role)
        db.session.commit()
    return user


def set_active(admin: User, user_id: int, active: bool) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if user.id == admin.id and not active:
        raise InvalidInput("You cannot disable your own account.")
    if user.active != active:
        user.active = active
        user.auth_version += 1  # ends the disabled user's sessions at once
        audit.record(audit.USER_ENABLED if active else audit.USER_DISABLED, user=user, actor=admin)
        db.session.commit()
    return user


def create_admin(email: str, password: str, display_name: str = "Admin") -> User:
    user = find_user_by_email(email)
    if user is None:
        _check_password(password, email, display_name)
        user = create_user(email, display_name, password, role=ROLE_ADMIN, confirmed=True)
    else:
        user.role = ROLE_ADMIN
    db.session.flush()
    audit.record(audit.ROLE_CHANGED, user=user, new=ROLE_ADMIN, via="cli")
    db.session.commit()
    return user
