"""Education: learning paths made of lessons (with an optional quiz), per-user progress and
quiz attempts.

Paths, lessons and questions are content: they come from the markdown files under
``content/learn/`` through ``flask learn sync`` (slug-keyed upsert, see
:mod:`app.learn.content`). Progress and attempts belong to users. A lesson's progress row only
ever moves forward: ``completed_at`` is set once and never cleared, ``best_score`` only rises.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db

CATEGORIES = ("onboarding", "technical_analysis", "fundamental_analysis", "risk_management",
              "strategy_development", "paper_trading", "psychology")
LEVELS = ("beginner", "intermediate", "advanced", "expert")
PASS_PERCENT = 70


class LearningPath(db.Model):
    __tablename__ = "learning_paths"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(30))
    level: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    published: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # set when an admin edits or (un)publishes it in the browser: a sync then leaves it alone
    # unless forced (`flask learn sync --force`), which clears it
    edited_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lessons: Mapped[list[Lesson]] = relationship(back_populates="path", order_by="Lesson.position")

    __table_args__ = (
        CheckConstraint(f"category IN {CATEGORIES!r}", name="category_known"),
        CheckConstraint(f"level IN {LEVELS!r}", name="level_known"),
    )

    def __repr__(self) -> str:
        return f"<LearningPath {self.slug}>"


class Lesson(db.Model):
    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("learning_paths.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(160))
    summary: Mapped[str] = mapped_column(Text, default="")
    body_md: Mapped[str] = mapped_column(Text, default="")
    # rendered from body_md at sync time and sanitised with nh3 (app.learn.markdown)
    body_html: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[int] = mapped_column(Integer, default=5)
    position: Mapped[int] = mapped_column(Integer, default=0)
    published: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    edited_at: Mapped[datetime | None] = mapped_column()  # see LearningPath.edited_at
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    path: Mapped[LearningPath] = relationship(back_populates="lessons")
    questions: Mapped[list[QuizQuestion]] = relationship(
        back_populates="lesson", order_by="QuizQuestion.position", cascade="all, delete-orphan",
        passive_deletes=True)

    __table_args__ = (CheckConstraint("minutes > 0", name="minutes_positive"),)

    def __repr__(self) -> str:
        return f"<Lesson {self.slug}>"


class QuizQuestion(db.Model):
    __tablename__ = "quiz_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text)
    choices: Mapped[list] = mapped_column(JSON)
    # index into choices; never rendered before the user has attempted the quiz
    answer: Mapped[int] = mapped_column(Integer)
    explanation: Mapped[str] = mapped_column(Text, default="")

    lesson: Mapped[Lesson] = relationship(back_populates="questions")

    __table_args__ = (UniqueConstraint("lesson_id", "position"),)


class LessonProgress(db.Model):
    __tablename__ = "lesson_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    completed_at: Mapped[datetime | None] = mapped_column()
    best_score: Mapped[int | None] = mapped_column(Integer)  # percent, highest attempt
    passed_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("user_id", "lesson_id"),
        CheckConstraint("best_score IS NULL OR (best_score >= 0 AND best_score <= 100)", name="score_range"),
    )


class QuizAttempt(db.Model):
    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    correct: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)  # percent, rounded down
    passed: Mapped[bool] = mapped_column(Boolean)
    # {question position (as text): chosen index}
    answers: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_quiz_attempts_user_lesson", "user_id", "lesson_id"),
        CheckConstraint("correct >= 0 AND correct <= total", name="correct_range"),
    )
