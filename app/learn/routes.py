"""The /learn pages: paths by category and level with progress, a path's lessons, a lesson
(next/previous, mark complete), its quiz (HTMX submit), the indicator explanations, and the
admins' content pages (edit a lesson with a live preview, publish/unpublish)."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from app.admin.access import admin_required
from app.errors import InvalidInput, NotFound
from app.htmx import is_htmx, redirect, render_view, submit_form
from app.learn import authoring, bp, explain, services
from app.learn.forms import LessonForm


def _user():
    return current_user._get_current_object()


@bp.get("")
@login_required
def index():
    progress = services.overview(_user())
    return render_template("learn/index.html", groups=services.grouped(progress),
                           recommended=services.recommended(_user(), progress),
                           done=sum(p.done for p in progress), total=sum(p.total for p in progress))


@bp.get("/paths/<slug>")
@login_required
def path(slug: str):
    path = services.get_path(slug)
    lessons = services.published_lessons(path)
    done = services.completed_ids(_user(), [le.id for le in lessons])
    return render_template("learn/path.html", path=path, lessons=lessons, done=done,
                           label=services.CATEGORY_LABELS[path.category])


def _lesson_context(lesson) -> dict:
    previous, following = services.neighbours(lesson)
    return {"lesson": lesson, "previous": previous, "next": following,
            "progress": services.progress_of(_user(), lesson)}


@bp.get("/lessons/<slug>")
@login_required
def lesson(slug: str):
    lesson = services.get_lesson(slug)
    return render_template("learn/lesson.html", **_lesson_context(lesson))


@bp.post("/lessons/<slug>/complete")
@login_required
def complete(slug: str):
    services.mark_complete(_user(), slug)
    lesson = services.get_lesson(slug)
    ctx = _lesson_context(lesson)
    if is_htmx():
        return render_view("learn/lesson.html", "learn/_complete.html", **ctx)
    flash(f"“{lesson.title}” marked complete.", "success")
    following = ctx["next"]
    return redirect(url_for("learn.lesson", slug=following.slug) if following
                    else url_for("learn.path", slug=lesson.path.slug))


def _quiz_context(lesson, attempt=None, error=None, retry=False) -> dict:
    attempt = attempt or (None if retry else services.last_attempt(_user(), lesson))
    return {"lesson": lesson, "attempt": attempt, "error": error,
            "review": services.review(lesson, attempt) if attempt else None,
            "attempts": services.attempt_count(_user(), lesson), "pass_percent": services.PASS_PERCENT,
            "progress": services.progress_of(_user(), lesson)}


@bp.get("/lessons/<slug>/quiz")
@login_required
def quiz(slug: str):
    lesson = services.get_lesson(slug)
    if not lesson.questions:
        raise NotFound("This lesson has no quiz.")
    return render_template("learn/quiz.html", **_quiz_context(lesson, retry=bool(request.args.get("retry"))))


@bp.post("/lessons/<slug>/quiz")
@login_required
def submit_quiz(slug: str):
    lesson = services.get_lesson(slug)
    try:
        attempt = services.submit_quiz(_user(), slug, request.form)
    except InvalidInput as exc:
        return render_view("learn/quiz.html", "learn/_quiz.html", status=422,
                           **_quiz_context(lesson, error=exc.message, retry=True))
    return render_view("learn/quiz.html", "learn/_quiz.html", **_quiz_context(lesson, attempt=attempt))


@bp.get("/indicators")
@login_required
def indicators():
    return render_template("learn/indicators.html", groups=explain.by_category())


@bp.get("/indicators/<name>")
@login_required
def indicator(name: str):
    fn = explain.get(name)
    return render_template("learn/indicator.html", fn=fn, view=explain.view(fn), groups=explain.by_category())


# --------------------------------------------------------------------------- admin: content
@bp.get("/admin")
@admin_required
def admin():
    return render_template("learn/admin.html", paths=authoring.all_paths(), labels=services.CATEGORY_LABELS)


@bp.route("/admin/lessons/<int:lesson_id>", methods=["GET", "POST"])
@admin_required
def admin_lesson(lesson_id: int):
    lesson = authoring.get_lesson(lesson_id)
    form = LessonForm(obj=lesson if request.method == "GET" else None)
    if request.method == "GET":
        form.body.data = lesson.body_md

    def saved(_):
        flash(f"“{lesson.title}” saved. A content sync keeps this edit unless forced.", "success")
        return redirect(url_for("learn.admin"))

    return submit_form(form, lambda: authoring.edit_lesson(_user(), lesson.id, title=form.title.data,
                                                           summary=form.summary.data or "", minutes=form.minutes.data,
                                                           body=form.body.data),
                       saved, page="learn/admin_lesson.html", lesson=lesson,
                       preview=Markup(lesson.body_html) if request.method == "GET" else None)  # noqa: S704


@bp.post("/admin/preview")
@admin_required
def admin_preview():
    try:
        html = authoring.preview(request.form.get("body", ""))
    except InvalidInput as exc:
        return render_view("learn/_preview.html", "learn/_preview.html", status=422, error=exc.message, html=None)
    return render_view("learn/_preview.html", "learn/_preview.html", html=Markup(html), error=None)  # noqa: S704


@bp.post("/admin/<kind>/<int:row_id>/publish")
@admin_required
def admin_publish(kind: str, row_id: int):
    published = request.form.get("published") == "1"
    row = authoring.set_published(_user(), kind, row_id, published)
    flash(f"“{row.title}” {'published' if published else 'unpublished'}.", "success")
    return redirect(url_for("learn.admin"))
