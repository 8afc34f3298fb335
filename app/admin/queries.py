"""Reads for the admin pages."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.jobs import JobRun
from app.models.user import User

PAGE_SIZE = 50


def search_users(q: str, page: int) -> tuple[list[User], int]:
    stmt = select(User)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.email).like(like), func.lower(User.display_name).like(like)))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(stmt.order_by(User.created_at.desc(), User.id.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    return list(rows), total


def audit_events(event: str, user_q: str, page: int) -> tuple[list[AuditEvent], int]:
    stmt = select(AuditEvent)
    if event:
        stmt = stmt.where(AuditEvent.event == event)
    if user_q:
        stmt = stmt.join(User, User.id == AuditEvent.user_id).where(func.lower(User.email).like(f"%{user_q.lower()}%"))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    return list(rows), total


def overview() -> dict:
    return {
        "users": db.session.scalar(select(func.count(User.id))),
        "admins": db.session.scalar(select(func.count(User.id)).where(User.role == "admin")),
        "disabled": db.session.scalar(select(func.count(User.id)).where(User.active.is_(False))),
        "recent_jobs": list(db.session.scalars(select(JobRun).order_by(JobRun.created_at.desc()).limit(20))),
    }
