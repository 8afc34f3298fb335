"""Learning paths, lessons, progress and quizzes.

Rules (PRODUCT.md section 6):
* progress never goes backwards: ``completed_at`` and ``passed_at`` are set once and never
  cleared, ``best_score`` only rises; a failed attempt after a pass changes neither;
* a quiz passes at 70 %: ``correct * 100 >= 70 * total`` in whole numbers (7 of 10 passes,
  2 of 3 = 66.7 % does not), so no float rounding decides a pass;
* every attempt is recorded; passing a quiz completes its lesson;
* the right answers and explanations are only given out in the result of an attempt.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.database import utcnow
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models.learn import CATEGORIES, LEVELS, PASS_PERCENT, LearningPath, Lesson, LessonProgress, QuizAttempt

CATEGORY_LABELS = {
    "onboarding": "Getting started", "technical_analysis": "Technical analysis",
    "fundamental_analysis": "Fundamental analysis", "risk_management": "Risk management",
    "strategy_development": "Strategy development", "paper_trading": "Paper trading", "psychology": "Psychology",
}


@dataclass(frozen=True)
class PathProgress:
    path: LearningPath
    total: int
    done: int
    minutes: int

    @property
    def percent(self) -> int:
        return self.done * 100 // self.total if self.total else 0

    @property
    def started(self) -> bool:
        return self.done > 0

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.done == self.total


# --------------------------------------------------------------------------- reading
def _published_paths() -> list[LearningPath]:
    rows = db.session.scalars(select(LearningPath).where(LearningPath.published.is_(True))).all()
    return sorted(rows, key=lambda p: (CATEGORIES.index(p.category), LEVELS.index(p.level), p.position))


def published_lessons(path: LearningPath) -> list[Lesson]:
    return [lesson for lesson in path.lessons if lesson.published]


def completed_ids(user, lesson_ids=None) -> set[int]:
    query = select(LessonProgress.lesson_id).where(LessonProgress.user_id == user.id,
                                                   LessonProgress.completed_at.is_not(None))
    if lesson_ids is not None:
        query = query.where(LessonProgress.lesson_id.in_(list(lesson_ids)))
    return set(db.session.scalars(query))


def overview(user) -> list[PathProgress]:
    """Every published path with the user's progress, in category, level and file order."""
    done = completed_ids(user)
    out = []
    for path in _published_paths():
        lessons = published_lessons(path)
        out.append(PathProgress(path, len(lessons), sum(1 for le in lessons if le.id in done),
                                sum(le.minutes for le in lessons)))
    return out


def grouped(progress: list[PathProgress]) -> list[tuple[str, list[tuple[str, list[PathProgress]]]]]:
    """[(category label, [(level, [PathProgress])])] for the /learn page, empty groups left out."""
    out = []
    for category in CATEGORIES:
        levels = [(level, [p for p in progress if p.path.category == category and p.path.level == level])
                  for level in LEVELS]
        levels = [(level, items) for level, items in levels if items]
        if levels:
            out.append((CATEGORY_LABELS[category], levels))
    return out


def recommended(user, progress: list[PathProgress]) -> PathProgress | None:
    """What to learn next: the started but unfinished path with the most recent activity;
    otherwise the first unstarted path at the lowest level not yet mastered (a level counts
    as mastered once every path at it is complete); None when everything is complete."""
    unfinished = [p for p in progress if p.started and not p.complete]
    if unfinished:
        recent = dict(db.session.execute(
            select(Lesson.path_id, func.max(LessonProgress.updated_at))
            .join(Lesson, Lesson.id == LessonProgress.lesson_id)
            .where(LessonProgress.user_id == user.id).group_by(Lesson.path_id)).all())
        return max(unfinished, key=lambda p: (recent.get(p.path.id) is not None, recent.get(p.path.id) or 0,
                                              -progress.index(p)))
    fresh = [p for p in progress if not p.complete]
    if not fresh:
        return None
    return min(fresh, key=lambda p: (LEVELS.index(p.path.level), progress.index(p)))


def get_path(slug: str) -> LearningPath:
    path = db.session.scalar(select(LearningPath).where(LearningPath.slug == slug, LearningPath.published.is_(True)))
    if path is None:
        raise NotFound("No such learning path.")
    return path


def get_lesson(slug: str) -> Lesson:
    lesson = db.session.scalar(select(Lesson).where(Lesson.slug == slug, Lesson.published.is_(True)))
    if lesson is None or not lesson.path.published:
        raise NotFound("No such lesson.")
    return lesson


def neighbours(lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
    """The previous and next published lessons of the same path."""
    lessons = published_lessons(lesson.path)
    i = lessons.index(lesson)
    return (lessons[i - 1] if i > 0 else None), (lessons[i + 1] if i + 1 < len(lessons) else None)


def progress_of(user, lesson: Lesson) -> LessonProgress | None:
    return db.session.scalar(select(LessonProgress).where(LessonProgress.user_id == user.id,
                                                          LessonProgress.lesson_id == lesson.id))


def last_attempt(user, lesson: Lesson) -> QuizAttempt | None:
    return db.session.scalar(select(QuizAttempt).where(QuizAttempt.user_id == user.id, QuizAttempt.lesson_id == lesson.id)
                             .order_by(QuizAttempt.created_at.desc(), QuizAttempt.id.desc()).limit(1))


def attempt_count(user, lesson: Lesson) -> int:
    return db.session.scalar(select(func.count()).select_from(QuizAttempt).where(
        QuizAttempt.user_id == user.id, QuizAttempt.lesson_id == lesson.id)) or 0


# --------------------------------------------------------------------------- writing
def _progress_row(user, lesson: Lesson) -> LessonProgress:
    """The user's progress row for the lesson, created when missing (a concurrent request
    that created it first wins the unique key; we then read its row)."""
    row = progress_of(user, lesson)
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            row = LessonProgress(user_id=user.id, lesson_id=lesson.id)
            db.session.add(row)
    except IntegrityError:
        row = progress_of(user, lesson)
    return row


def _complete(row: LessonProgress) -> None:
    if row.completed_at is None:
        row.completed_at = utcnow()


def mark_complete(user, slug: str) -> LessonProgress:
    """Mark a lesson complete (idempotent; the first completion time is kept)."""
    lesson = get_lesson(slug)
    row = _progress_row(user, lesson)
    _complete(row)
    row.updated_at = utcnow()
    db.session.commit()
    return row


def score(correct: int, total: int) -> tuple[int, bool]:
    """(percent rounded down, passed) with the 70 % threshold in exact integer arithmetic."""
    if total <= 0:
        raise ValueError("a quiz has at least one question")
    return correct * 100 // total, correct * 100 >= PASS_PERCENT * total


def _parse_answers(lesson: Lesson, answers: Mapping[str, str]) -> dict[str, int]:
    chosen = {}
    for q in lesson.questions:
        raw = (answers.get(f"q{q.position}") or "").strip()
        if not raw:
            raise InvalidInput(f"Answer every question before submitting (question {q.position} has no answer).",
                               field=f"q{q.position}")
        if not raw.isdigit() or int(raw) >= len(q.choices):
            raise InvalidInput(f"Question {q.position}: that choice does not exist.", field=f"q{q.position}")
        chosen[str(q.position)] = int(raw)
    return chosen


def submit_quiz(user, slug: str, answers: Mapping[str, str]) -> QuizAttempt:
    """Score and record an attempt; a pass completes the lesson. Progress only moves forward."""
    lesson = get_lesson(slug)
    if not lesson.questions:
        raise NotFound("This lesson has no quiz.")
    chosen = _parse_answers(lesson, answers)
    correct = sum(1 for q in lesson.questions if chosen[str(q.position)] == q.answer)
    percent, passed = score(correct, len(lesson.questions))
    attempt = QuizAttempt(user_id=user.id, lesson_id=lesson.id, correct=correct, total=len(lesson.questions),
                          score=percent, passed=passed, answers=chosen)
    db.session.add(attempt)
    row = _progress_row(user, lesson)
    row.best_score = max(row.best_score or 0, percent)
    if passed:
        row.passed_at = row.passed_at or utcnow()
        _complete(row)
    row.updated_at = utcnow()
    db.session.commit()
    return attempt


def review(lesson: Lesson, attempt: QuizAttempt) -> list[dict]:
    """Per question: the prompt, choices, what the user chose, the right answer and why."""
    return [{"question": q, "chosen": attempt.answers.get(str(q.position)), "right": q.answer,
             "correct": attempt.answers.get(str(q.position)) == q.answer} for q in lesson.questions]
