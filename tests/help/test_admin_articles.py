"""Admins edit help articles in the browser: sanitised markdown, tags, publish/unpublish,
audited, kept by a sync unless forced; nobody else can."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.help import content
from app.models import AuditEvent, HelpArticle
from tests.help.test_help_center import tree  # noqa: F401  (fixture)


def token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture()
def synced(db, tree):  # noqa: F811
    content.sync(tree)
    return tree


def article(slug="webhooks") -> HelpArticle:
    return db.session.scalar(select(HelpArticle).where(HelpArticle.slug == slug).execution_options(populate_existing=True))


def test_admin_edits_an_article_sanitised_audited_and_kept_by_sync(client, login, factories, synced):
    admin = login(factories.admin())
    a = article()
    page = client.get(f"/help/admin/articles/{a.id}").get_data(as_text=True)
    assert "Webhook signatures" in page
    r = client.post(f"/help/admin/articles/{a.id}", data={
        "csrf_token": token(page), "title": "Signed webhooks", "summary": "How to check.", "tags": "alerts, Webhook hmac",
        "body": "## Check it\n<script>alert(1)</script> [x](javascript:alert(1))"})
    assert r.status_code == 303
    a = article()
    assert (a.title, a.tags) == ("Signed webhooks", " alerts webhook hmac ")
    assert "<script" not in a.body_html and "href=\"javascript" not in a.body_html and "<h2>Check it</h2>" in a.body_html
    assert a.edited_at is not None
    assert db.session.scalar(select(AuditEvent.event).where(AuditEvent.actor_id == admin.id)) == "admin.help_article_edited"
    assert content.sync(synced).counts["kept"] == 1 and article().title == "Signed webhooks"


def test_bad_tags_are_a_422_on_the_field(client, login, factories, synced):
    login(factories.admin())
    a = article()
    page = client.get(f"/help/admin/articles/{a.id}").get_data(as_text=True)
    r = client.post(f"/help/admin/articles/{a.id}", data={"csrf_token": token(page), "title": "T", "tags": "ok Bad_Tag!",
                                                          "body": "text"})
    assert r.status_code == 422 and "Tags are lower-case words" in r.get_data(as_text=True)
    assert article().title == "Webhook signatures"


def test_admin_unpublishes_and_republishes(client, login, factories, synced):
    login(factories.admin())
    a = article()
    t = token(client.get("/help/admin").get_data(as_text=True))
    assert client.post(f"/help/admin/articles/{a.id}/publish", data={"csrf_token": t, "published": "0"}).status_code == 303
    assert client.get("/help/webhooks").status_code == 404
    client.post(f"/help/admin/articles/{a.id}/publish", data={"csrf_token": t, "published": "1"})
    assert client.get("/help/webhooks").status_code == 200


def test_only_admins_reach_the_article_admin(client, login, trader, synced, csrf):
    a = article()
    assert client.get("/help/admin").status_code in (302, 303)
    login(trader)
    t = csrf(client, "/help")
    assert client.get("/help/admin").status_code == 403
    assert client.get(f"/help/admin/articles/{a.id}").status_code == 403
    assert client.post(f"/help/admin/articles/{a.id}/publish", data={"csrf_token": t, "published": "0"}).status_code == 403
    assert article().published is True


def test_unknown_article_in_admin_is_404(client, login, factories, db):
    login(factories.admin())
    assert client.get("/help/admin/articles/999").status_code == 404
