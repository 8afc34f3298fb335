"""Help articles as files, synced into the database like the lessons (app.learn.content).

Layout: ``content/help/<nn>-<name>.md``, YAML front matter (slug, title, category: faq |
howto | troubleshooting, tags: a list of words, summary) then the markdown body. The number
orders the articles inside a category. :func:`sync` upserts by slug in one commit: new rows
are created, changed ones updated (body re-rendered and sanitised), unchanged ones left alone,
articles no longer in the files unpublished (votes point at them). Rows an admin edited
(``edited_at`` set) are kept unless ``force``. Views and votes are never touched by a sync.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.learn.content import ContentError, _digest, _require, _slug, split_front_matter
from app.learn.markdown import render
from app.models.help import ARTICLE_CATEGORIES, HelpArticle

TAG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass
class ArticleSpec:
    slug: str
    title: str
    category: str
    tags: list[str]
    summary: str
    body: str
    source: str

    def digest(self) -> str:
        return _digest([self.slug, self.title, self.category, self.tags, self.summary, self.body])


@dataclass
class ArticleSyncResult:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("created", "updated", "unchanged", "unpublished", "kept"), 0))

    def summary(self) -> str:
        return "articles: " + ", ".join(f"{n} {what}" for what, n in self.counts.items())


def content_dir() -> Path:
    configured = current_app.config.get("HELP_CONTENT_DIR")
    return Path(configured) if configured else Path(current_app.root_path).parent / "content" / "help"


def normalise_tags(tags: list[str]) -> str:
    """[" RSI", "alerts"] -> " rsi alerts " (what the indexed ``tags`` column stores)."""
    return " " + " ".join(dict.fromkeys(t.strip().lower() for t in tags if t.strip())) + " "


def read_article(file: Path) -> ArticleSpec:
    source = file.as_posix()
    meta, body = split_front_matter(file.read_text(encoding="utf-8"), source)
    category = _require(meta, "category", source)
    if category not in ARTICLE_CATEGORIES:
        raise ContentError(f"{source}: category {category!r} is not one of {', '.join(ARTICLE_CATEGORIES)}")
    tags = meta.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and TAG.match(t.strip().lower()) for t in tags):
        raise ContentError(f"{source}: 'tags' must be a list of lower-case words (letters, digits, '-')")
    if len(normalise_tags(tags)) > 300:
        raise ContentError(f"{source}: too many tags (300 characters at most)")
    if not body.strip():
        raise ContentError(f"{source}: the article has no body")
    return ArticleSpec(_slug(meta, source), _require(meta, "title", source), category,
                       [t.strip().lower() for t in tags], str(meta.get("summary") or "").strip(), body, source)


def load_articles(directory: Path | None = None) -> list[ArticleSpec]:
    directory = directory or content_dir()
    if not directory.is_dir():
        raise ContentError(f"{directory.as_posix()}: no such content folder")
    specs = [read_article(f) for f in sorted(directory.glob("*.md"))]
    slugs = [s.slug for s in specs]
    dupes = sorted({s for s in slugs if slugs.count(s) > 1})
    if dupes:
        raise ContentError(f"duplicate article slug(s): {', '.join(dupes)}")
    return specs


def sync(directory: Path | None = None, *, force: bool = False) -> ArticleSyncResult:
    """Upsert the article files into the database (one commit). See the module docstring."""
    specs = load_articles(directory)
    result = ArticleSyncResult()
    rows = {a.slug: a for a in db.session.scalars(select(HelpArticle).execution_options(populate_existing=True))}
    for position, spec in enumerate(specs, 1):
        result.counts[_upsert(rows.get(spec.slug), spec, position, force)] += 1
    keep = {s.slug for s in specs}
    for row in rows.values():
        if row.slug not in keep and row.published and (row.edited_at is None or force):
            row.published = False
            result.counts["unpublished"] += 1
    db.session.commit()
    return result


def _upsert(row: HelpArticle | None, spec: ArticleSpec, position: int, force: bool) -> str:
    digest = spec.digest()
    if row is None:
        row, outcome = HelpArticle(slug=spec.slug, views=0), "created"
        db.session.add(row)
    elif row.edited_at is not None and not force:
        return "kept"
    elif row.content_hash == digest and row.position == position and row.published and row.edited_at is None:
        return "unchanged"
    else:
        outcome = "updated"
    row.title, row.category, row.tags, row.summary = spec.title, spec.category, normalise_tags(spec.tags), spec.summary
    row.body_md, row.body_html = spec.body, render(spec.body)
    row.position, row.published, row.content_hash, row.edited_at = position, True, digest, None
    return outcome
