"""Accounts: users, their OAuth identities and their second factor."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db

ROLE_USER = "user"
ROLE_ADMIN = "admin"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased (see normalise_email), so the unique index is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=ROLE_USER)
    active: Mapped[bool] = mapped_column(default=True)
    email_confirmed_at: Mapped[datetime | None]
    pending_email: Mapped[str | None] = mapped_column(String(254))
    # Bumped on password change/reset: invalidates other sessions, remember cookies and reset links.
    auth_version: Mapped[int] = mapped_column(default=1)
    # Bumped on sign-out: ends the session and remember-me cookies issued before it, while
    # the reset and email-change links (tied to auth_version) stay valid.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    two_factor: Mapped[TwoFactor | None] = relationship(back_populates="user", cascade="all, delete-orphan")
    identities: Mapped[list[OAuthIdentity]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def has_2fa(self) -> bool:
        return self.two_factor is not None and self.two_factor.enabled

    def get_id(self) -> str:
        # Flask-Login stores this in the session and the remember-me cookie: a cookie whose
        # versions are stale loads no user.
        return f"{self.id}:{self.auth_version}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class OAuthIdentity(db.Model):
    __tablename__ = "oauth_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="identities")


class TwoFactor(db.Model):
    __tablename__ = "two_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(default=False)
    enabled_at: Mapped[datetime | None]
    # The last TOTP time step accepted, so a code cannot be replayed.
    last_used_step: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="two_factor")
    backup_codes: Mapped[list[BackupCode]] = relationship(
        back_populates="two_factor", cascade="all, delete-orphan"
    )


class BackupCode(db.Model):
    __tablename__ = "backup_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    two_factor_id: Mapped[int] = mapped_column(ForeignKey("two_factor.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    used_at: Mapped[datetime | None]

    two_factor: Mapped[TwoFactor] = relationship(back_populates="backup_codes")
