"""Help center: articles (FAQ, how-to, troubleshooting) synced from ``content/help/`` and
"was this helpful" votes, plus per-user walkthrough progress on the feature pages.

Articles are content (``flask learn sync`` / ``flask help sync``, slug-keyed like lessons).
A vote is one row per (user, article), changeable; the helpful / not-helpful counts are
computed from these rows, so they are always exact. ``views`` is bumped with an atomic
``UPDATE ... SET views = views + 1`` and orders the "popular" list.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db

ARTICLE_CATEGORIES = ("faq", "howto", "troubleshooting")


class HelpArticle(db.Model):
    __tablename__ = "help_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(160))
    category: Mapped[str] = mapped_column(String(20), index=True)
    # normalised " tag-one tag-two " (lower case, space-delimited, padded) so a tag is found
    # with LIKE '% tag %'; indexed for the tag links
    tags: Mapped[str] = mapped_column(String(300), default=" ", index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    body_md: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")  # rendered + nh3-sanitised at sync
    position: Mapped[int] = mapped_column(Integer, default=0)
    views: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    published: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    edited_at: Mapped[datetime | None] = mapped_column()  # an admin edit survives a sync unless forced
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (CheckConstraint(f"category IN {ARTICLE_CATEGORIES!r}", name="category_known"),)

    @property
    def tag_list(self) -> list[str]:
        return self.tags.split()

    def __repr__(self) -> str:
        return f"<HelpArticle {self.slug}>"


class HelpVote(db.Model):
    __tablename__ = "help_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("help_articles.id", ondelete="CASCADE"), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "article_id"),)  # one vote per user, changed in place


WALKTHROUGH_PAGES = ("screener", "alerts", "strategies")


class WalkthroughProgress(db.Model):
    """How far a user got in a page's first-visit walkthrough; ``dismissed_at`` set = never
    shown again (finishing the last step dismisses it too)."""

    __tablename__ = "walkthrough_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    page: Mapped[str] = mapped_column(String(20))
    step: Mapped[int] = mapped_column(Integer, default=0)
    dismissed_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "page"),
                      CheckConstraint(f"page IN {WALKTHROUGH_PAGES!r}", name="page_known"),
                      CheckConstraint("step >= 0", name="step_positive"))
