"""Editing education content in the browser (admins): lesson text and publish/unpublish of
lessons and paths. Every change sets ``edited_at`` so `flask learn sync` keeps it (until a
forced sync), is rendered through the same sanitising markdown renderer as the files, and is
written to the audit log."""
from __future__ import annotations

from sqlalchemy import select

from app import audit
from app.database import utcnow
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.learn.markdown import render
from app.learn.services import CATEGORY_LABELS
from app.models.learn import CATEGORIES, LEVELS, LearningPath, Lesson

LESSON_EDITED = "admin.lesson_edited"
CONTENT_PUBLISHED = "admin.learn_published"
MAX_BODY = 100_000


def all_paths() -> list[LearningPath]:
    """Every path, published or not, in the same order as /learn."""
    rows = db.session.scalars(select(LearningPath)).all()
    return sorted(rows, key=lambda p: (CATEGORIES.index(p.category), LEVELS.index(p.level), p.position))


def get_lesson(lesson_id: int) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound("No such lesson.")
    return lesson


def preview(body: str) -> str:
    if len(body) > MAX_BODY:
        raise InvalidInput("The lesson is longer than 100,000 characters.", field="body")
    return render(body)


def edit_lesson(admin, lesson_id: int, *, title: str, summary: str, minutes: int, body: str) -> Lesson:
    lesson = get_lesson(lesson_id)
    title, body = title.strip(), body.strip()
    if not title or len(title) > 160:
        raise InvalidInput("A title of 1 to 160 characters is needed.", field="title")
    if not 1 <= minutes <= 240:
        raise InvalidInput("Minutes must be from 1 to 240.", field="minutes")
    if not body:
        raise InvalidInput("The lesson needs a body.", field="body")
    lesson.title, lesson.summary, lesson.minutes = title, summary.strip(), minutes
    lesson.body_md, lesson.body_html = body + "\n", preview(body)
    lesson.edited_at = utcnow()
    audit.record(LESSON_EDITED, actor=admin, lesson=lesson.slug)
    db.session.commit()
    return lesson


def set_published(admin, kind: str, row_id: int, published: bool) -> LearningPath | Lesson:
    model = {"path": LearningPath, "lesson": Lesson}.get(kind)
    row = db.session.get(model, row_id) if model else None
    if row is None:
        raise NotFound(f"No such {kind}.")
    row.published, row.edited_at = published, utcnow()
    audit.record(CONTENT_PUBLISHED, actor=admin, **{kind: row.slug, "published": published})
    db.session.commit()
    return row


__all__ = ["CATEGORY_LABELS", "all_paths", "edit_lesson", "get_lesson", "preview", "set_published"]
