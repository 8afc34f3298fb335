"""Learn in a real browser on the shipped content: /learn, a lesson (mark complete over HTMX),
its quiz (HTMX submit, answers only after the attempt) and an indicator page, at 1366 px and
at phone width (390 px, no horizontal overflow). Screenshots: tests/browser/artifacts/learn-*.png."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import assert_clean, shot

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
LESSON = "/learn/lessons/rsi"


def _sign_in(page, live_server, email: str) -> None:
    from tests.factories import PASSWORD

    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/home$"))


def _no_horizontal_overflow(page) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url}: page is {width}px wide in a {inner}px window"


@pytest.fixture()
def learner(db, factories):
    from app.learn.content import sync

    sync()
    return factories.user("learner@example.com")


def _take_quiz(page, *, right: bool) -> None:
    """Answer every question: the right choice (read from the database, never from the
    page) or the first wrong one."""
    from app.learn.services import get_lesson

    for q in get_lesson("rsi").questions:
        choice = q.answer if right else (q.answer + 1) % len(q.choices)
        page.check(f"input[name=q{q.position}][value='{choice}']")


def test_learn_lesson_and_quiz_at_desktop_width(live_server, page, learner):
    from app.learn.services import get_lesson

    page.set_viewport_size(WIDE)
    _sign_in(page, live_server, learner.email)
    page.click("nav >> text=Learn")
    page.wait_for_url(re.compile(r".*/learn$"))
    assert page.locator(".path-card").count() == 3
    assert "Recommended next" in page.text_content(".recommended")
    shot(page, "learn-index-1366")

    page.goto(f"{live_server}{LESSON}")
    assert page.locator("h1").inner_text() == "RSI: measuring momentum"
    assert page.locator(".prose table, .prose pre").count() >= 1
    page.click("#lesson-complete button[type=submit]")  # HTMX swaps the button for the badge
    page.wait_for_selector("#lesson-complete .badge-ok")
    page.evaluate("window.scrollTo(0, 0)")  # a full-page shot keeps the sticky header where the view is
    shot(page, "learn-lesson-1366")

    page.click("text=Take the quiz")
    page.wait_for_url(re.compile(r".*/quiz$"))
    explanation = get_lesson("rsi").questions[0].explanation
    assert explanation not in page.content()
    assert page.locator(".is-answer").count() == 0
    shot(page, "learn-quiz-1366")
    _take_quiz(page, right=False)
    page.click("#quiz-form button[type=submit]")
    page.wait_for_selector("[data-quiz-result]")
    assert "Not passed yet" in page.inner_text("[data-quiz-result]")
    assert explanation in page.inner_text("#quiz")
    assert page.url.endswith("/quiz")  # swapped in place, no page load
    shot(page, "learn-quiz-result-1366")

    page.click("#quiz a.btn-secondary")
    page.wait_for_url(re.compile(r".*/quiz\?retry=1$"))
    shot(page, "learn-quiz-retry-1366")
    _take_quiz(page, right=True)
    page.click("#quiz-form button[type=submit]")
    page.wait_for_selector("[data-quiz-result].passed")
    assert "3 of 3 (100 %)" in page.inner_text("[data-quiz-result]")

    page.goto(f"{live_server}/learn")
    assert "1/5" in page.inner_text("#path-technical-indicators")
    assert "Continue where you left off" in page.text_content(".recommended")
    assert_clean(page)


def test_learn_pages_at_phone_width(live_server, phone_page, learner):
    page = phone_page
    _sign_in(page, live_server, learner.email)
    for url, name in (("/learn", "learn-index-390"), (LESSON, "learn-lesson-390"),
                      (f"{LESSON}/quiz", "learn-quiz-390"), ("/learn/paths/risk-management", "learn-path-390"),
                      ("/learn/lessons/position-sizing", "learn-lesson-table-390"),
                      ("/learn/lessons/volatility-bollinger-atr", "learn-lesson-illustration-390"),
                      ("/learn/lessons/r-multiples-and-expectancy", "learn-lesson-r-390"),
                      ("/learn/indicators/macd", "learn-indicator-390")):
        page.goto(f"{live_server}{url}")
        _no_horizontal_overflow(page)
        shot(page, name)
    page.goto(f"{live_server}{LESSON}/quiz")
    _take_quiz(page, right=True)
    page.click("#quiz-form button[type=submit]")
    page.wait_for_selector("[data-quiz-result].passed")
    _no_horizontal_overflow(page)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "learn-quiz-result-390")
    assert_clean(page)


def test_admin_edits_a_lesson_with_live_preview(live_server, page, db, factories):
    from sqlalchemy import select

    from app.extensions import db as _db
    from app.learn.content import sync
    from app.models import Lesson

    sync()
    admin = factories.admin()
    page.set_viewport_size(WIDE)
    _sign_in(page, live_server, admin.email)
    page.goto(f"{live_server}/learn")
    page.click("text=Edit content")
    page.wait_for_url(re.compile(r".*/learn/admin$"))
    page.click("#admin-path-technical-indicators >> text=RSI: measuring momentum")
    page.wait_for_url(re.compile(r".*/learn/admin/lessons/\d+$"))
    page.fill("#body", "## Fresh heading\n\nSome **bold** text <script>alert(1)</script>")
    page.wait_for_selector("#preview h2:has-text('Fresh heading')")
    assert page.locator("#preview script").count() == 0
    assert "<script>alert(1)</script>" in page.inner_text("#preview")  # shown as text
    shot(page, "learn-admin-editor-1366")
    page.click("#lesson-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/learn/admin$"))
    _db.session.expire_all()
    rsi = _db.session.scalar(select(Lesson).where(Lesson.slug == "rsi"))
    assert rsi.edited_at is not None and "<h2>Fresh heading</h2>" in rsi.body_html
    assert_clean(page)
