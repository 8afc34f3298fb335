"""Admin: overview (workers, queues, jobs), users, audit log."""
from __future__ import annotations

import redis
from flask import flash, render_template, request, url_for
from flask_login import current_user

from app import audit
from app.admin import bp, queries
from app.admin.access import admin_required
from app.auth import services
from app.errors import InvalidInput
from app.htmx import redirect
from app.ops.services import clock_last_tick


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 100_000))
    except ValueError:
        return 1


@bp.get("")
@admin_required
def index():
    from app.jobs import queue_depths, worker_status

    try:
        workers, depths, redis_error = worker_status(), queue_depths(), None
        last_tick = clock_last_tick()
    except redis.RedisError as exc:
        workers, depths, last_tick, redis_error = [], {}, None, str(exc)
    return render_template("admin/index.html", stats=queries.overview(), workers=workers, depths=depths,
                           last_tick=last_tick, redis_error=redis_error)


@bp.get("/users")
@admin_required
def users():
    q = request.args.get("q", "").strip()[:100]
    page = _page()
    rows, total = queries.search_users(q, page)
    return render_template("admin/users.html", users=rows, total=total, q=q, page=page,
                           page_size=queries.PAGE_SIZE)


@bp.post("/users/<int:user_id>/role")
@admin_required
def set_role(user_id: int):
    role = request.form.get("role", "")
    try:
        user = services.set_role(current_user._get_current_object(), user_id, role)
        flash(f"{user.email} is now {'an admin' if user.is_admin else 'a regular user'}.", "success")
    except InvalidInput as exc:
        flash(exc.message, "error")
    return redirect(request.referrer if _same_site(request.referrer) else url_for("admin.users"))


@bp.post("/users/<int:user_id>/active")
@admin_required
def set_active(user_id: int):
    active = request.form.get("active") == "1"
    try:
        user = services.set_active(current_user._get_current_object(), user_id, active)
        flash(f"{user.email} is {'enabled' if user.active else 'disabled'}.", "success")
    except InvalidInput as exc:
        flash(exc.message, "error")
    return redirect(request.referrer if _same_site(request.referrer) else url_for("admin.users"))


@bp.get("/audit")
@admin_required
def audit_log():
    event = request.args.get("event", "")
    if event not in audit.LABELS:
        event = ""
    user_q = request.args.get("user", "").strip()[:100]
    page = _page()
    rows, total = queries.audit_events(event, user_q, page)
    return render_template("admin/audit.html", events=rows, total=total, event=event, user_q=user_q,
                           labels=audit.LABELS, page=page, page_size=queries.PAGE_SIZE)


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)
