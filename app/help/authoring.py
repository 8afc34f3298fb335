"""Editing help articles in the browser (admins): text, tags and publish/unpublish. Every
change sets ``edited_at`` so a sync keeps it (until a forced one), goes through the same
sanitising markdown renderer as the files, and is written to the audit log."""
from __future__ import annotations

from sqlalchemy import select

from app import audit
from app.database import utcnow
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.help.content import TAG, normalise_tags
from app.learn.authoring import preview
from app.models.help import ARTICLE_CATEGORIES, HelpArticle

ARTICLE_EDITED = "admin.help_article_edited"
ARTICLE_PUBLISHED = "admin.help_article_published"


def all_articles() -> list[HelpArticle]:
    rows = db.session.scalars(select(HelpArticle)).all()
    return sorted(rows, key=lambda a: (ARTICLE_CATEGORIES.index(a.category), a.position, a.title))


def get_article(article_id: int) -> HelpArticle:
    article = db.session.get(HelpArticle, article_id)
    if article is None:
        raise NotFound("No such help article.")
    return article


def parse_tags(text: str) -> list[str]:
    tags = [t.strip().lower() for t in (text or "").replace(",", " ").split() if t.strip()]
    bad = [t for t in tags if not TAG.match(t)]
    if bad:
        raise InvalidInput(f"Tags are lower-case words (letters, digits, '-'): {', '.join(bad)}.", field="tags")
    if len(normalise_tags(tags)) > 300:
        raise InvalidInput("Too many tags (300 characters at most).", field="tags")
    return tags


def edit_article(admin, article_id: int, *, title: str, summary: str, tags: str, body: str) -> HelpArticle:
    article = get_article(article_id)
    title, body = title.strip(), body.strip()
    if not title or len(title) > 160:
        raise InvalidInput("A title of 1 to 160 characters is needed.", field="title")
    if not body:
        raise InvalidInput("The article needs a body.", field="body")
    article.tags = normalise_tags(parse_tags(tags))
    article.title, article.summary = title, summary.strip()
    article.body_md, article.body_html = body + "\n", preview(body)
    article.edited_at = utcnow()
    audit.record(ARTICLE_EDITED, actor=admin, article=article.slug)
    db.session.commit()
    return article


def set_published(admin, article_id: int, published: bool) -> HelpArticle:
    article = get_article(article_id)
    article.published, article.edited_at = published, utcnow()
    audit.record(ARTICLE_PUBLISHED, actor=admin, article=article.slug, published=published)
    db.session.commit()
    return article
