"""Help center queries and votes.

Search is one service (:func:`search`): every word of the query must appear in the title,
the body or the tags (case-insensitive ``LIKE``, wildcards in the query escaped); title hits
rank first, then the most viewed. Votes are one row per (user, article), changed in place;
counts are computed from those rows, so they are exact whatever the order of votes."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models.help import ARTICLE_CATEGORIES, HelpArticle, HelpVote

CATEGORY_LABELS = {"faq": "Frequently asked questions", "howto": "How-to guides", "troubleshooting": "Troubleshooting"}
assert set(CATEGORY_LABELS) == set(ARTICLE_CATEGORIES)
MAX_QUERY = 100
MAX_WORDS = 8
LIST_SIZE = 5


@dataclass(frozen=True)
class Counts:
    helpful: int = 0
    not_helpful: int = 0

    @property
    def total(self) -> int:
        return self.helpful + self.not_helpful


def _published():
    return select(HelpArticle).where(HelpArticle.published.is_(True))


def get_article(slug: str) -> HelpArticle:
    article = db.session.scalar(_published().where(HelpArticle.slug == slug))
    if article is None:
        raise NotFound("No help article with that address.")
    return article


def by_category() -> list[tuple[str, list[HelpArticle]]]:
    rows = db.session.scalars(_published().order_by(HelpArticle.category, HelpArticle.position)).all()
    return [(c, [a for a in rows if a.category == c]) for c in ARTICLE_CATEGORIES if any(a.category == c for a in rows)]


def search_words(query: str) -> list[str]:
    return [w for w in (query or "").strip()[:MAX_QUERY].lower().split() if w][:MAX_WORDS]


def search(query: str, tag: str | None = None) -> list[HelpArticle]:
    """Published articles matching every word of ``query`` (title, body or tags) and, when
    given, carrying ``tag`` exactly."""
    words = search_words(query)
    stmt = _published()
    if tag:
        stmt = stmt.where(HelpArticle.tags.contains(f" {tag.strip().lower()} ", autoescape=True))
    title_hits = []
    for word in words:  # contains(autoescape=True): LIKE '%word%' with % and _ in the word taken literally
        in_title = func.lower(HelpArticle.title).contains(word, autoescape=True)
        stmt = stmt.where(or_(in_title, func.lower(HelpArticle.body_md).contains(word, autoescape=True),
                              HelpArticle.tags.contains(word, autoescape=True)))
        title_hits.append(case((in_title, 1), else_=0))
    rank = sum(title_hits) if title_hits else 0
    order = [rank.desc()] if title_hits else []
    return list(db.session.scalars(stmt.order_by(*order, HelpArticle.views.desc(), HelpArticle.title)))


def record_view(article: HelpArticle) -> None:
    """Atomic ``views = views + 1`` (two readers at once both count)."""
    db.session.execute(update(HelpArticle).where(HelpArticle.id == article.id)
                       .values(views=HelpArticle.views + 1).execution_options(synchronize_session=False))
    db.session.commit()


def counts(article_id: int) -> Counts:
    row = db.session.execute(
        select(func.count().filter(HelpVote.helpful.is_(True)), func.count().filter(HelpVote.helpful.is_(False)))
        .where(HelpVote.article_id == article_id)).one()
    return Counts(int(row[0]), int(row[1]))


def my_vote(user, article_id: int) -> bool | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(HelpVote.helpful).where(HelpVote.user_id == user.id,
                                                            HelpVote.article_id == article_id))


def parse_vote(value: str | None) -> bool:
    if value not in ("yes", "no"):
        raise InvalidInput("Choose “Yes” or “No”.", field="helpful")
    return value == "yes"


def vote(user, slug: str, helpful: bool) -> Counts:
    """Record or change ``user``'s vote on the article; returns the exact counts after it.
    A concurrent first vote by the same user hits the unique key: it then updates instead."""
    article = get_article(slug)
    for _ in range(2):
        row = db.session.scalar(select(HelpVote).where(HelpVote.user_id == user.id, HelpVote.article_id == article.id))
        if row is not None:
            row.helpful = helpful
        else:
            db.session.add(HelpVote(user_id=user.id, article_id=article.id, helpful=helpful))
        try:
            db.session.commit()
            break
        except IntegrityError:
            db.session.rollback()
    return counts(article.id)


def popular(limit: int = LIST_SIZE) -> list[HelpArticle]:
    stmt = _published().where(HelpArticle.views > 0).order_by(HelpArticle.views.desc(), HelpArticle.title)
    return list(db.session.scalars(stmt.limit(limit)))


def most_helpful(limit: int = LIST_SIZE) -> list[tuple[HelpArticle, int]]:
    """Articles by the number of "yes" votes (ties: fewer "no" votes first), with that number."""
    yes = func.count().filter(HelpVote.helpful.is_(True))
    no = func.count().filter(HelpVote.helpful.is_(False))
    stmt = (select(HelpArticle, yes).join(HelpVote, HelpVote.article_id == HelpArticle.id)
            .where(HelpArticle.published.is_(True)).group_by(HelpArticle.id)
            .having(yes > 0).order_by(yes.desc(), no, HelpArticle.title).limit(limit))
    return [(a, int(n)) for a, n in db.session.execute(stmt)]
