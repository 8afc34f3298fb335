"""First-visit walkthroughs on the screener, alerts and strategies pages: shown until dismissed
or finished, progress saved per user, Next/Dismiss are POSTs with CSRF (HTMX or plain)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.help import walkthrough
from app.models import WalkthroughProgress

PAGES = {"screener": "/screener", "alerts": "/alerts", "strategies": "/strategies"}


def token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def rows() -> int:
    return db.session.scalar(select(func.count()).select_from(WalkthroughProgress))


@pytest.mark.parametrize("page", PAGES)
def test_shows_once_on_first_visit_and_never_after_dismissal(client, login, trader, page):
    login(trader)
    body = client.get(PAGES[page]).get_data(as_text=True)
    assert body.count('id="walkthrough"') == 1 and "step 1 of" in body
    assert 'src="/static/js/walkthrough.js"' in body and "<script>" not in body.split('id="walkthrough"')[1][:2000]
    r = client.post(f"/help/walkthrough/{page}/dismiss", data={"csrf_token": token(body)})
    assert r.status_code == 303 and r.headers["Location"].endswith(PAGES[page])
    for _ in range(2):
        assert 'id="walkthrough"' not in client.get(PAGES[page]).get_data(as_text=True)
    assert walkthrough.current(trader, page) is None


def test_next_saves_progress_and_finishing_ends_it(client, hx, login, trader):
    login(trader)
    t = token(client.get("/screener").get_data(as_text=True))
    r = hx.post("/help/walkthrough/screener/next", data={"csrf_token": t})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and body.lstrip().startswith('<aside id="walkthrough"')
    assert "step 2 of 5" in body and 'data-walkthrough-target="#filters"' in body
    # progress is saved: the next visit resumes at step 2
    assert "step 2 of 5" in client.get("/screener").get_data(as_text=True)
    for _ in range(3):
        hx.post("/help/walkthrough/screener/next", data={"csrf_token": t})
    assert "Finish" in client.get("/screener").get_data(as_text=True)
    last = hx.post("/help/walkthrough/screener/next", data={"csrf_token": t})
    assert last.status_code == 200 and 'id="walkthrough"' not in last.get_data(as_text=True)
    assert 'id="walkthrough"' not in client.get("/screener").get_data(as_text=True)
    row = db.session.scalar(select(WalkthroughProgress).where(WalkthroughProgress.user_id == trader.id))
    assert (row.step, row.dismissed_at is not None) == (5, True)
    # another "next" after the end changes nothing
    hx.post("/help/walkthrough/screener/next", data={"csrf_token": t})
    assert rows() == 1 and walkthrough.current(trader, "screener") is None


def test_htmx_dismiss_removes_the_panel(client, hx, login, trader):
    login(trader)
    t = token(client.get("/alerts").get_data(as_text=True))
    r = hx.post("/help/walkthrough/alerts/dismiss", data={"csrf_token": t})
    assert r.status_code == 200 and r.get_data(as_text=True).strip() == ""
    assert 'id="walkthrough"' not in client.get("/alerts").get_data(as_text=True)


def test_progress_is_per_user_and_per_page(db, factories):
    a, b = factories.user(), factories.user()
    walkthrough.dismiss(a, "screener")
    walkthrough.advance(a, "alerts")
    assert walkthrough.current(a, "screener") is None
    assert walkthrough.current(a, "alerts").index == 1
    assert walkthrough.current(a, "strategies").index == 0
    assert walkthrough.current(b, "screener").index == 0


def test_csrf_login_and_unknown_page(client, csrf, login, trader):
    assert client.post("/help/walkthrough/screener/dismiss", data={"csrf_token": csrf(client)}).status_code in (302, 303)
    login(trader)
    assert client.post("/help/walkthrough/screener/dismiss").status_code == 400
    assert client.post("/help/walkthrough/screener/next").status_code == 400
    t = token(client.get("/screener").get_data(as_text=True))
    assert client.post("/help/walkthrough/nowhere/next", data={"csrf_token": t}).status_code == 404
    assert rows() == 0
