from __future__ import annotations

from flask import abort, jsonify, make_response, render_template
from flask_login import current_user, login_required

from app.extensions import db
from app.htmx import add_vary
from app.models.jobs import JobRun
from app.ops import bp
from app.ops.services import overall_health


@bp.get("/health")
def health():
    """Public: the overall status only (no host details, no writes)."""
    status = overall_health()
    response = jsonify(status=status)
    response.status_code = 200 if status != "unhealthy" else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/jobs/<int:run_id>/progress")
@login_required
def job_progress(run_id: int):
    run = db.session.get(JobRun, run_id)
    if run is None or (run.owner_id != current_user.id and not current_user.is_admin):
        abort(404)
    return add_vary(make_response(render_template("_partials/_job_progress.html", run=run)))
