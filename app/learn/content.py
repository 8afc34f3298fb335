"""Education content as files in the repository, synced into the database.

Layout (``content/learn/``)::

    01-getting-started/            one folder per learning path (the number orders paths)
        path.md                    front matter: slug, title, category, level, summary
        01-the-dashboard.md        one file per lesson (the number orders the lessons)

A lesson file is YAML front matter (slug, title, minutes, summary, optional ``quiz``: a list
of ``{question, choices, answer, explanation}`` with ``answer`` the 0-based index of the
right choice) followed by the markdown body.

:func:`sync` upserts by slug: new rows are created, rows whose content hash changed are
updated, the rest are left alone, and paths or lessons no longer in the files are unpublished
(never deleted: users' progress and attempts point at them). Running it twice changes nothing
the second time. Progress rows are never touched by a sync. Rows an admin edited in the browser
(``edited_at`` set) are kept as edited ("kept") unless ``force`` is given, which overwrites them
with the files and clears ``edited_at``.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.learn.markdown import render
from app.models.learn import CATEGORIES, LEVELS, LearningPath, Lesson, QuizQuestion

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class ContentError(ValueError):
    """A content file is malformed; the message names the file and the problem."""


@dataclass
class LessonSpec:
    slug: str
    title: str
    minutes: int
    summary: str
    body: str
    quiz: list[dict]
    source: str

    def digest(self) -> str:
        return _digest([self.slug, self.title, self.minutes, self.summary, self.body, self.quiz])


@dataclass
class PathSpec:
    slug: str
    title: str
    category: str
    level: str
    summary: str
    source: str
    lessons: list[LessonSpec] = field(default_factory=list)

    def digest(self) -> str:
        return _digest([self.slug, self.title, self.category, self.level, self.summary])


@dataclass
class SyncResult:
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: {
        kind: {"created": 0, "updated": 0, "unchanged": 0, "unpublished": 0, "kept": 0} for kind in ("paths", "lessons")})
    questions: int = 0
    force: bool = False

    def count(self, kind: str, what: str) -> None:
        self.counts[kind][what] += 1

    def summary(self) -> str:
        parts = [f"{kind}: " + ", ".join(f"{n} {what}" for what, n in c.items()) for kind, c in self.counts.items()]
        return "; ".join(parts) + f"; {self.questions} quiz questions"


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def content_dir() -> Path:
    configured = current_app.config.get("LEARN_CONTENT_DIR")
    return Path(configured) if configured else Path(current_app.root_path).parent / "content" / "learn"


# --------------------------------------------------------------------------- reading files
def split_front_matter(text: str, source: str) -> tuple[dict, str]:
    if not text.startswith("---\n"):
        raise ContentError(f"{source}: must start with a '---' front matter block")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ContentError(f"{source}: front matter is not closed with '---'")
    try:
        meta = yaml.safe_load(text[4:end]) or {}
    except yaml.YAMLError as exc:
        raise ContentError(f"{source}: front matter is not valid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise ContentError(f"{source}: front matter must be a mapping")
    return meta, text[end + 5:].strip() + "\n"


def _require(meta: dict, key: str, source: str) -> str:
    value = meta.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ContentError(f"{source}: '{key}' is missing")
    return str(value).strip()


def _slug(meta: dict, source: str) -> str:
    slug = _require(meta, "slug", source)
    if not SLUG.match(slug) or len(slug) > 80:
        raise ContentError(f"{source}: slug {slug!r} must be lower-case words joined by '-' (80 characters at most)")
    return slug


def _quiz(raw, source: str) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ContentError(f"{source}: 'quiz' must be a list of questions")
    out = []
    for i, q in enumerate(raw, 1):
        where = f"{source}: quiz question {i}"
        if not isinstance(q, dict):
            raise ContentError(f"{where} must be a mapping")
        choices = q.get("choices")
        if not isinstance(choices, list) or len(choices) < 2 or not all(str(c).strip() for c in choices):
            raise ContentError(f"{where} needs at least two non-empty choices")
        answer = q.get("answer")
        if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(choices):
            raise ContentError(f"{where}: 'answer' must be the 0-based index of a choice")
        out.append({"question": _require(q, "question", where), "choices": [str(c).strip() for c in choices],
                    "answer": answer, "explanation": _require(q, "explanation", where)})
    return out


def read_lesson(file: Path) -> LessonSpec:
    source = file.as_posix()
    meta, body = split_front_matter(file.read_text(encoding="utf-8"), source)
    minutes = meta.get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 240:
        raise ContentError(f"{source}: 'minutes' must be a whole number from 1 to 240")
    if not body.strip():
        raise ContentError(f"{source}: the lesson has no body")
    return LessonSpec(_slug(meta, source), _require(meta, "title", source), minutes,
                      str(meta.get("summary") or "").strip(), body, _quiz(meta.get("quiz"), source), source)


def read_path(folder: Path) -> PathSpec:
    index = folder / "path.md"
    source = index.as_posix()
    if not index.is_file():
        raise ContentError(f"{folder.as_posix()}: path.md is missing")
    meta, body = split_front_matter(index.read_text(encoding="utf-8"), source)
    category, level = _require(meta, "category", source), _require(meta, "level", source)
    if category not in CATEGORIES:
        raise ContentError(f"{source}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    if level not in LEVELS:
        raise ContentError(f"{source}: level {level!r} is not one of {', '.join(LEVELS)}")
    spec = PathSpec(_slug(meta, source), _require(meta, "title", source), category, level,
                    str(meta.get("summary") or body).strip(), source)
    spec.lessons = [read_lesson(f) for f in sorted(folder.glob("*.md")) if f.name != "path.md"]
    if not spec.lessons:
        raise ContentError(f"{folder.as_posix()}: a path needs at least one lesson")
    return spec


def load_tree(directory: Path | None = None) -> list[PathSpec]:
    """Read and validate every path under ``directory``; slugs must be unique."""
    directory = directory or content_dir()
    if not directory.is_dir():
        raise ContentError(f"{directory.as_posix()}: no such content folder")
    paths = [read_path(d) for d in sorted(directory.iterdir()) if d.is_dir()]
    for kind, slugs in (("path", [p.slug for p in paths]),
                        ("lesson", [lesson.slug for p in paths for lesson in p.lessons])):
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        if dupes:
            raise ContentError(f"duplicate {kind} slug(s): {', '.join(dupes)}")
    return paths


# --------------------------------------------------------------------------- writing rows
def sync(directory: Path | None = None, *, force: bool = False) -> SyncResult:
    """Upsert the content files into the database (one commit). See the module docstring."""
    specs = load_tree(directory)
    result = SyncResult(force=force)
    fresh = {"populate_existing": True}  # a long-lived session must not judge by stale rows
    paths = {p.slug: p for p in db.session.scalars(select(LearningPath).execution_options(**fresh))}
    lessons = {le.slug: le for le in db.session.scalars(select(Lesson).execution_options(**fresh))}
    for position, spec in enumerate(specs, 1):
        path = _upsert_path(paths.get(spec.slug), spec, position, result)
        for lesson_position, lesson_spec in enumerate(spec.lessons, 1):
            _upsert_lesson(lessons.get(lesson_spec.slug), lesson_spec, path, lesson_position, result)
            result.questions += len(lesson_spec.quiz)
    _unpublish(paths.values(), {s.slug for s in specs}, "paths", result)
    _unpublish(lessons.values(), {le.slug for s in specs for le in s.lessons}, "lessons", result)
    db.session.commit()
    return result


def _upsert_path(path: LearningPath | None, spec: PathSpec, position: int, result: SyncResult) -> LearningPath:
    digest = spec.digest()
    if path is None:
        path = LearningPath(slug=spec.slug)
        db.session.add(path)
        result.count("paths", "created")
    elif path.edited_at is not None and not result.force:
        result.count("paths", "kept")
        return path
    elif path.content_hash == digest and path.position == position and path.published and path.edited_at is None:
        result.count("paths", "unchanged")
        return path
    else:
        result.count("paths", "updated")
    path.title, path.category, path.level, path.summary = spec.title, spec.category, spec.level, spec.summary
    path.position, path.published, path.content_hash, path.edited_at = position, True, digest, None
    db.session.flush()
    return path


def _upsert_lesson(lesson: Lesson | None, spec: LessonSpec, path: LearningPath, position: int,
                   result: SyncResult) -> None:
    digest = spec.digest()
    if lesson is None:
        lesson = Lesson(slug=spec.slug)
        db.session.add(lesson)
        result.count("lessons", "created")
    elif lesson.edited_at is not None and not result.force:
        result.count("lessons", "kept")
        return
    elif (lesson.content_hash == digest and lesson.path_id == path.id and lesson.position == position
          and lesson.published and lesson.edited_at is None):
        result.count("lessons", "unchanged")
        return
    else:
        result.count("lessons", "updated")
    lesson.path = path
    lesson.title, lesson.minutes, lesson.summary = spec.title, spec.minutes, spec.summary
    lesson.body_md, lesson.body_html = spec.body, render(spec.body)
    lesson.position, lesson.published, lesson.content_hash, lesson.edited_at = position, True, digest, None
    _sync_questions(lesson, spec.quiz)


def _sync_questions(lesson: Lesson, quiz: list[dict]) -> None:
    """Update questions in place by position (a delete-then-insert would collide on the
    (lesson, position) unique key inside one flush), dropping those past the new end."""
    existing = {q.position: q for q in lesson.questions}
    for position, q in enumerate(quiz, 1):
        row = existing.pop(position, None)
        if row is None:
            row = QuizQuestion(position=position)
            lesson.questions.append(row)
        row.prompt, row.choices, row.answer, row.explanation = q["question"], q["choices"], q["answer"], q["explanation"]
    for row in existing.values():
        lesson.questions.remove(row)


def _unpublish(rows, keep: set[str], kind: str, result: SyncResult) -> None:
    for row in rows:
        if row.slug not in keep and row.published and (row.edited_at is None or result.force):
            row.published = False
            result.count(kind, "unpublished")
