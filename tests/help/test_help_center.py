"""Help center: article files synced into the database, search over title/body/tags, the
"was this helpful" vote (one per user, changeable, exact counts), popular and most-helpful
lists, and the /help pages (public reading, login + CSRF to vote, 404 for unknown)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.help import content, services
from app.learn.content import ContentError
from app.models import HelpArticle, HelpVote

SHIPPED = Path(__file__).resolve().parents[2] / "content" / "help"


def article_file(slug, title, category="faq", tags=("alerts",), body="Some body text."):
    tag_list = ", ".join(tags)
    return f"---\nslug: {slug}\ntitle: {title}\ncategory: {category}\ntags: [{tag_list}]\nsummary: About {title}.\n---\n{body}\n"


@pytest.fixture()
def tree(tmp_path):
    (tmp_path / "01-a.md").write_text(article_file("webhooks", "Webhook signatures", "howto", ("alerts", "webhook"),
                                                   "Check the HMAC header on each request."))
    (tmp_path / "02-b.md").write_text(article_file("backup-codes", "Backup codes", "faq", ("2fa", "account"),
                                                   "Each code works once. <script>alert(1)</script>"))
    (tmp_path / "03-c.md").write_text(article_file("market-closed", "Orders when the market is closed",
                                                   "troubleshooting", ("paper-trading",),
                                                   "A market order waits for the open. 100% of them."))
    return tmp_path


@pytest.fixture()
def synced(db, tree):
    content.sync(tree)
    return tree


def token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def votes() -> int:
    return db.session.scalar(select(func.count()).select_from(HelpVote))


# ------------------------------------------------------------------ content and sync
def test_shipped_articles_load_and_cover_the_product():
    specs = content.load_articles(SHIPPED)
    assert len(specs) >= 8
    assert {s.category for s in specs} == {"faq", "howto", "troubleshooting"}
    slugs = {s.slug for s in specs}
    assert {"how-the-screener-works", "alert-channels-and-conditions", "why-my-market-order-is-waiting",
            "what-simulated-data-means", "how-the-leaderboard-score-works",
            "two-factor-authentication-and-backup-codes"} <= slugs
    assert all(s.tags for s in specs)


def test_sync_is_idempotent_sanitises_and_unpublishes(db, tree):
    first = content.sync(tree)
    assert first.counts["created"] == 3
    assert content.sync(tree).counts == {"created": 0, "updated": 0, "unchanged": 3, "unpublished": 0, "kept": 0}
    row = db.session.scalar(select(HelpArticle).where(HelpArticle.slug == "backup-codes"))
    assert "<script>" not in row.body_html and row.tags == " 2fa account "
    (tree / "03-c.md").unlink()
    assert content.sync(tree).counts["unpublished"] == 1
    assert db.session.scalar(select(HelpArticle.published).where(HelpArticle.slug == "market-closed")) is False


def test_sync_keeps_admin_edits_unless_forced(db, synced):
    row = db.session.scalar(select(HelpArticle).where(HelpArticle.slug == "webhooks"))
    row.title, row.edited_at = "Edited", row.updated_at
    db.session.commit()
    (synced / "01-a.md").write_text(article_file("webhooks", "Webhook signatures v2"))
    assert content.sync(synced).counts["kept"] == 1
    assert db.session.scalar(select(HelpArticle.title).where(HelpArticle.slug == "webhooks")) == "Edited"
    assert content.sync(synced, force=True).counts["updated"] == 1
    assert db.session.scalar(select(HelpArticle.title).where(HelpArticle.slug == "webhooks")) == "Webhook signatures v2"


def test_bad_category_is_refused(db, tree):
    (tree / "04-d.md").write_text(article_file("bad", "Bad", category="news"))
    with pytest.raises(ContentError, match="category 'news'"):
        content.sync(tree)


def test_flask_help_sync_command(app, db, tree):
    result = app.test_cli_runner().invoke(args=["help", "sync", "--dir", str(tree)])
    assert result.exit_code == 0, result.output
    assert "articles: 3 created" in result.output


# ------------------------------------------------------------------ search
def slugs(rows) -> list[str]:
    return [a.slug for a in rows]


def test_search_finds_by_title_body_and_tag(synced):
    assert slugs(services.search("backup")) == ["backup-codes"]          # title
    assert slugs(services.search("HMAC header")) == ["webhooks"]         # body, every word, any case
    assert slugs(services.search("paper-trading")) == ["market-closed"]  # tag
    assert slugs(services.search("", tag="2fa")) == ["backup-codes"]     # exact tag
    assert slugs(services.search("", tag="2")) == []                    # a tag is matched whole
    assert slugs(services.search("nothing-like-this")) == []


def test_search_ranks_title_hits_first_and_escapes_wildcards(synced):
    assert slugs(services.search("market")) == ["market-closed"]
    assert slugs(services.search("%")) == ["market-closed"]  # the literal "100%", not "match anything"
    assert slugs(services.search("_")) == []


def test_search_page_and_htmx_fragment(client, hx, synced):
    page = client.get("/help?q=backup").get_data(as_text=True)
    assert '1 article for “backup”' in page and 'href="/help/backup-codes"' in page
    frag = hx.get("/help?q=webhook")
    assert frag.status_code == 200 and "<html" not in frag.get_data(as_text=True)
    assert 'href="/help/webhooks"' in frag.get_data(as_text=True)
    assert 'href="/help/webhooks"' in client.get("/help?tag=webhook").get_data(as_text=True)


# ------------------------------------------------------------------ votes
def test_vote_once_change_and_counts_are_exact(db, synced, factories):
    a, b, c = factories.user(), factories.user(), factories.user()
    assert services.vote(a, "webhooks", True) == services.Counts(1, 0)
    assert services.vote(a, "webhooks", True) == services.Counts(1, 0)   # same vote again: still one
    assert services.vote(b, "webhooks", False) == services.Counts(1, 1)
    assert services.vote(a, "webhooks", False) == services.Counts(0, 2)  # changed, not added
    assert services.vote(c, "webhooks", True) == services.Counts(1, 2)
    assert votes() == 3
    assert services.my_vote(a, db.session.scalar(select(HelpArticle.id).where(HelpArticle.slug == "webhooks"))) is False


def test_vote_route_records_and_changes(client, login, trader, synced):
    login(trader)
    t = token(client.get("/help/webhooks").get_data(as_text=True))
    r = client.post("/help/webhooks/vote", data={"csrf_token": t, "helpful": "yes"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/help/webhooks#helpful")
    page = client.get("/help/webhooks").get_data(as_text=True)
    assert '<span data-count="helpful">1</span>' in page and "You answered “Yes”" in page
    client.post("/help/webhooks/vote", data={"csrf_token": t, "helpful": "no"})
    page = client.get("/help/webhooks").get_data(as_text=True)
    assert '<span data-count="helpful">0</span>' in page and '<span data-count="not-helpful">1</span>' in page
    assert votes() == 1


def test_vote_over_htmx_returns_the_vote_box(hx, client, login, trader, synced):
    login(trader)
    t = token(client.get("/help/webhooks").get_data(as_text=True))
    r = hx.post("/help/webhooks/vote", data={"csrf_token": t, "helpful": "yes"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and body.lstrip().startswith('<section id="helpful"')
    assert '<span data-count="helpful">1</span>' in body


def test_bad_vote_value_is_a_422_with_a_message(client, login, trader, synced):
    login(trader)
    t = token(client.get("/help/webhooks").get_data(as_text=True))
    r = client.post("/help/webhooks/vote", data={"csrf_token": t, "helpful": "maybe"})
    assert r.status_code == 422 and "Choose “Yes” or “No”." in r.get_data(as_text=True)
    assert votes() == 0


def test_login_required_to_vote(client, csrf, synced):
    page = client.get("/help/webhooks").get_data(as_text=True)
    assert "Sign in</a> to say whether this article helped" in page   # reading is public
    r = client.post("/help/webhooks/vote", data={"csrf_token": csrf(client), "helpful": "yes"})
    assert r.status_code in (302, 303) and "/login" in r.headers["Location"]
    assert votes() == 0


def test_csrf_required_to_vote(client, login, trader, synced):
    login(trader)
    assert client.post("/help/webhooks/vote", data={"helpful": "yes"}).status_code == 400
    assert votes() == 0


def test_unknown_or_unpublished_article_is_404(client, login, trader, synced, csrf):
    assert client.get("/help/no-such-article").status_code == 404
    login(trader)
    t = csrf(client, "/help")
    assert client.post("/help/no-such-article/vote", data={"csrf_token": t, "helpful": "yes"}).status_code == 404
    (synced / "03-c.md").unlink()
    content.sync(synced)
    assert client.get("/help/market-closed").status_code == 404


# ------------------------------------------------------------------ lists
def test_popular_and_most_helpful_lists(client, synced, factories):
    for _ in range(3):
        client.get("/help/market-closed")
    client.get("/help/webhooks")
    assert slugs(services.popular()) == ["market-closed", "webhooks"]
    a, b = factories.user(), factories.user()
    services.vote(a, "backup-codes", True)
    services.vote(b, "backup-codes", True)
    services.vote(a, "webhooks", True)
    services.vote(b, "webhooks", False)
    services.vote(a, "market-closed", False)
    assert [(x.slug, n) for x, n in services.most_helpful()] == [("backup-codes", 2), ("webhooks", 1)]
    page = client.get("/help").get_data(as_text=True)
    assert "Most helpful" in page and "2 found it helpful" in page
    assert page.index('href="/help/market-closed"') < page.index("Most helpful")  # in Popular


def test_every_page_footer_links_the_help_center(client):
    body = client.get("/login").get_data(as_text=True)
    assert '<a href="/help">Help center</a>' in body and '<a href="/learn">Learn</a>' in body
