"""Admins edit lessons and publish/unpublish paths and lessons in the browser; a content sync
keeps those edits unless forced; everything rendered stays sanitised; admin only; audited."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.errors import NotFound
from app.extensions import db
from app.learn import authoring, content, services
from app.models import AuditEvent, LearningPath, Lesson
from tests.learn.content_fixture import write_tree


def token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture()
def tree(db, tmp_path):
    root = write_tree(tmp_path / "learn")
    content.sync(root)
    return root


@pytest.fixture()
def admin(factories):
    return factories.admin()


def lesson(slug: str) -> Lesson:
    return db.session.scalar(select(Lesson).where(Lesson.slug == slug))


def test_learners_cannot_reach_the_admin_pages(client, login, csrf, tree, trader):
    login(trader)
    one = lesson("one")
    assert client.get("/learn/admin").status_code == 403
    assert client.get(f"/learn/admin/lessons/{one.id}").status_code == 403
    t = token(client.get("/learn/lessons/one").get_data(as_text=True))
    assert client.post(f"/learn/admin/lessons/{one.id}", data={"csrf_token": t, "title": "X", "minutes": 3,
                                                               "body": "x"}).status_code == 403
    assert client.post(f"/learn/admin/lesson/{one.id}/publish", data={"csrf_token": t, "published": "0"}).status_code == 403
    assert client.post("/learn/admin/preview", data={"csrf_token": t, "body": "x"}).status_code == 403
    db.session.expire_all()
    assert (lesson("one").title, lesson("one").published) == ("Lesson one", True)


def test_admin_edits_a_lesson_sanitised_and_audited(client, login, tree, admin):
    login(admin)
    one = lesson("one")
    page = client.get(f"/learn/admin/lessons/{one.id}").get_data(as_text=True)
    assert "## Heading" in page  # the markdown source in the editor
    r = client.post(f"/learn/admin/lessons/{one.id}", data={
        "csrf_token": token(page), "title": "Lesson one, edited", "summary": "New.", "minutes": "9",
        "body": "## New\n\nHi <script>alert(1)</script> [x](javascript:alert(1))"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/learn/admin")
    db.session.expire_all()
    one = lesson("one")
    assert (one.title, one.minutes, one.edited_at is not None) == ("Lesson one, edited", 9, True)
    assert "<h2>New</h2>" in one.body_html and "<script" not in one.body_html and 'href="javascript' not in one.body_html
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event == authoring.LESSON_EDITED))
    assert (event.actor_id, event.details) == (admin.id, {"lesson": "one"})


def test_invalid_edit_is_422_and_changes_nothing(client, login, tree, admin):
    login(admin)
    one = lesson("one")
    page = client.get(f"/learn/admin/lessons/{one.id}").get_data(as_text=True)
    r = client.post(f"/learn/admin/lessons/{one.id}", data={"csrf_token": token(page), "title": "T",
                                                            "minutes": "0", "body": "text"})
    assert r.status_code == 422 and "Minutes must be from 1 to 240." in r.get_data(as_text=True)
    db.session.expire_all()
    assert lesson("one").edited_at is None


def test_sync_keeps_admin_edits_unless_forced(tree, admin):
    one = authoring.edit_lesson(admin, lesson("one").id, title="Mine", summary="", minutes=3, body="Edited.")
    kept = content.sync(tree)
    assert kept.counts["lessons"]["kept"] == 1 and kept.counts["lessons"]["unchanged"] == 3
    db.session.expire_all()
    assert lesson("one").title == "Mine"
    forced = content.sync(tree, force=True)
    assert forced.counts["lessons"]["updated"] == 1
    db.session.expire_all()
    one = lesson("one")
    assert (one.title, one.edited_at) == ("Lesson one", None)


def test_unpublish_hides_the_lesson_and_sync_keeps_it_hidden(client, login, tree, admin, trader):
    login(admin)
    one = lesson("one")
    t = token(client.get("/learn/admin").get_data(as_text=True))
    r = client.post(f"/learn/admin/lesson/{one.id}/publish", data={"csrf_token": t, "published": "0"})
    assert r.status_code == 303
    with pytest.raises(NotFound):
        services.get_lesson("one")
    assert content.sync(tree).counts["lessons"]["kept"] == 1
    with pytest.raises(NotFound):
        services.get_lesson("one")
    assert [p.total for p in services.overview(trader)] == [2, 1]
    path = db.session.scalar(select(LearningPath).where(LearningPath.slug == "risk"))
    authoring.set_published(admin, "path", path.id, False)
    assert [p.path.slug for p in services.overview(trader)] == ["basics"]
    content.sync(tree, force=True)
    assert [p.total for p in services.overview(trader)] == [3, 1]


def test_publish_of_an_unknown_kind_or_id_is_404(client, login, tree, admin):
    login(admin)
    t = token(client.get("/learn/admin").get_data(as_text=True))
    assert client.post("/learn/admin/user/1/publish", data={"csrf_token": t, "published": "0"}).status_code == 404
    assert client.post("/learn/admin/lesson/99999/publish", data={"csrf_token": t, "published": "0"}).status_code == 404


def test_preview_is_sanitised_and_needs_csrf(client, hx, login, tree, admin):
    login(admin)
    assert hx.post("/learn/admin/preview", data={"body": "x"}).status_code == 400
    t = token(client.get("/learn/admin").get_data(as_text=True))
    r = hx.post("/learn/admin/preview", data={"csrf_token": t, "body": "**b** <script>alert(1)</script>"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and body.lstrip().startswith('<div id="preview"')
    assert "<strong>b</strong>" in body and "<script" not in body


def test_admin_page_lists_every_lesson(client, login, tree, admin):
    login(admin)
    body = client.get("/learn/admin").get_data(as_text=True)
    for slug in ("one", "two", "three", "r1"):
        assert f'href="/learn/admin/lessons/{lesson(slug).id}"' in body
    assert 'href="/learn/admin"' in client.get("/learn").get_data(as_text=True)
