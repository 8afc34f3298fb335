"""The security audit log: every security-relevant event goes through `record`."""
from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditEvent

# Event names (stable: admin filters and the user's activity page rely on them).
LOGIN_SUCCEEDED = "login.succeeded"
LOGIN_FAILED = "login.failed"
LOGIN_THROTTLED = "login.throttled"
LOGOUT = "logout"
REGISTERED = "account.registered"
EMAIL_CONFIRMED = "email.confirmed"
EMAIL_CHANGE_REQUESTED = "email.change_requested"
EMAIL_CHANGED = "email.changed"
PASSWORD_CHANGED = "password.changed"
PASSWORD_RESET_REQUESTED = "password.reset_requested"
PASSWORD_RESET = "password.reset"
TWO_FACTOR_ENABLED = "2fa.enabled"
TWO_FACTOR_DISABLED = "2fa.disabled"
TWO_FACTOR_FAILED = "2fa.failed"
BACKUP_CODES_REGENERATED = "2fa.backup_codes_regenerated"
BACKUP_CODE_USED = "2fa.backup_code_used"
OAUTH_LINKED = "oauth.linked"
ROLE_CHANGED = "admin.role_changed"
USER_DISABLED = "admin.user_disabled"
USER_ENABLED = "admin.user_enabled"

LABELS = {
    LOGIN_SUCCEEDED: "Signed in",
    LOGIN_FAILED: "Failed sign-in attempt",
    LOGIN_THROTTLED: "Sign-in blocked after too many attempts",
    LOGOUT: "Signed out",
    REGISTERED: "Account created",
    EMAIL_CONFIRMED: "Email confirmed",
    EMAIL_CHANGE_REQUESTED: "Email change requested",
    EMAIL_CHANGED: "Email changed",
    PASSWORD_CHANGED: "Password changed",
    PASSWORD_RESET_REQUESTED: "Password reset requested",
    PASSWORD_RESET: "Password reset",
    TWO_FACTOR_ENABLED: "Two-factor authentication turned on",
    TWO_FACTOR_DISABLED: "Two-factor authentication turned off",
    TWO_FACTOR_FAILED: "Wrong two-factor code",
    BACKUP_CODES_REGENERATED: "New backup codes generated",
    BACKUP_CODE_USED: "Backup code used to sign in",
    OAUTH_LINKED: "Sign-in provider linked",
    ROLE_CHANGED: "Role changed by an admin",
    USER_DISABLED: "Account disabled by an admin",
    USER_ENABLED: "Account enabled by an admin",
}


def record(event: str, user=None, actor=None, **details: Any) -> AuditEvent:
    """Add an audit event to the session (the caller's commit persists it with its change)."""
    ip = agent = None
    if has_request_context():
        from app.security import client_ip

        ip = client_ip()[:45]
        agent = (request.user_agent.string or "")[:200]
    row = AuditEvent(
        event=event,
        user_id=getattr(user, "id", user),
        actor_id=getattr(actor, "id", actor),
        ip=ip,
        user_agent=agent,
        details=details,
    )
    db.session.add(row)
    return row


def recent_for(user, limit: int = 20) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.user_id == user.id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))
