"""All models, re-exported so Alembic and the app see one metadata."""
from app.models.audit import AuditEvent
from app.models.billing import Subscription
from app.models.jobs import JobRun
from app.models.user import BackupCode, OAuthIdentity, TwoFactor, User

__all__ = ["AuditEvent", "BackupCode", "JobRun", "OAuthIdentity", "Subscription", "TwoFactor", "User"]
