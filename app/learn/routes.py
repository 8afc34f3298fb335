"""The /learn pages: paths by category and level with progress, a path's lessons, a lesson
(next/previous, mark complete), its quiz (HTMX submit) and the indicator explanations."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user, login_required

from app.errors import InvalidInput, NotFound
from app.htmx import is_htmx, redirect, render_view
from app.learn import bp, explain, services


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
