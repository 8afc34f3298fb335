"""Learn: content sync, progress rules, quiz scoring and answer hiding, and the /learn pages
(login, CSRF, HTMX quiz submit)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.learn import content, services
from app.models import LearningPath, Lesson, LessonProgress, QuizAttempt, QuizQuestion
from tests.learn.content_fixture import lesson as lesson_file
from tests.learn.content_fixture import ten_question_quiz, write_tree


def token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture()
def tree(tmp_path):
    return write_tree(tmp_path / "learn")


@pytest.fixture()
def synced(db, tree):
    return content.sync(tree)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


RIGHT = {"q1": "1", "q2": "0", "q3": "1"}


# ------------------------------------------------------------------ sync
def test_sync_creates_then_is_idempotent(db, tree):
    first = content.sync(tree)
    assert first.counts == {"paths": {"created": 2, "updated": 0, "unchanged": 0, "unpublished": 0, "kept": 0},
                            "lessons": {"created": 4, "updated": 0, "unchanged": 0, "unpublished": 0, "kept": 0}}
    assert first.questions == 9
    assert (count(LearningPath), count(Lesson), count(QuizQuestion)) == (2, 4, 9)
    second = content.sync(tree)
    assert second.counts == {"paths": {"created": 0, "updated": 0, "unchanged": 2, "unpublished": 0, "kept": 0},
                             "lessons": {"created": 0, "updated": 0, "unchanged": 4, "unpublished": 0, "kept": 0}}
    assert (count(LearningPath), count(Lesson), count(QuizQuestion)) == (2, 4, 9)
    assert "2 unchanged" in second.summary()


def test_sync_updates_changed_lessons_and_unpublishes_removed_ones(db, tree, trader):
    content.sync(tree)
    services.mark_complete(trader, "two")
    (tree / "01-basics" / "02-two.md").write_text(lesson_file("two", "Lesson two, revised", quiz="quiz:\n"
                                                              "  - question: Only one?\n    choices: [a, b]\n"
                                                              "    answer: 0\n    explanation: Because a.\n"))
    (tree / "01-basics" / "03-three.md").unlink()
    result = content.sync(tree)
    assert result.counts["lessons"] == {"created": 0, "updated": 1, "unchanged": 2, "unpublished": 1, "kept": 0}
    two = db.session.scalar(select(Lesson).where(Lesson.slug == "two"))
    assert two.title == "Lesson two, revised"
    assert [q.prompt for q in two.questions] == ["Only one?"]
    with pytest.raises(NotFound):
        services.get_lesson("three")
    # a content change never touches progress
    assert services.progress_of(trader, two).completed_at is not None


def test_sync_renders_sanitised_markdown(synced):
    one = services.get_lesson("one")
    assert "<h2>Heading</h2>" in one.body_html
    assert "<script>" not in one.body_html and "&lt;script&gt;" in one.body_html


def test_sync_rejects_bad_content_with_the_file_named(db, tree):
    (tree / "01-basics" / "02-two.md").write_text(lesson_file("two", "Two", quiz="quiz:\n  - question: Q?\n"
                                                              "    choices: [a, b]\n    answer: 5\n"
                                                              "    explanation: x\n"))
    with pytest.raises(content.ContentError, match=r"02-two.md: quiz question 1: 'answer' must be"):
        content.sync(tree)
    assert count(Lesson) == 0


def test_sync_rejects_duplicate_slugs(db, tree):
    (tree / "02-risk" / "02-dupe.md").write_text(lesson_file("one", "Duplicate"))
    with pytest.raises(content.ContentError, match="duplicate lesson slug"):
        content.sync(tree)


def test_flask_learn_sync_command(app, db, tree):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["learn", "sync", "--dir", str(tree)])
    assert result.exit_code == 0, result.output
    assert "paths: 2 created" in result.output and "lessons: 4 created" in result.output
    again = runner.invoke(args=["learn", "sync", "--dir", str(tree)])
    assert "lessons: 0 created, 0 updated, 4 unchanged, 0 unpublished, 0 kept" in again.output


# ------------------------------------------------------------------ quiz scoring and progress
@pytest.mark.parametrize(("correct", "total", "expected"), [
    (7, 10, (70, True)), (6, 10, (60, False)), (2, 3, (66, False)), (3, 3, (100, True)),
    (0, 3, (0, False)), (69, 100, (69, False)), (70, 100, (70, True)), (13, 20, (65, False)), (14, 20, (70, True)),
])
def test_pass_threshold_is_exactly_70_percent(correct, total, expected):
    assert services.score(correct, total) == expected


def test_seven_of_ten_passes_and_six_fails(db, tmp_path, trader):
    root = write_tree(tmp_path / "learn")
    (root / "01-basics" / "02-two.md").write_text(lesson_file("two", "Two", quiz=ten_question_quiz()))
    content.sync(root)
    seven = {f"q{i}": ("1" if i <= 7 else "0") for i in range(1, 11)}
    six = {f"q{i}": ("1" if i <= 6 else "0") for i in range(1, 11)}
    failed = services.submit_quiz(trader, "two", six)
    assert (failed.correct, failed.total, failed.score, failed.passed) == (6, 10, 60, False)
    assert services.progress_of(trader, services.get_lesson("two")).completed_at is None
    passed = services.submit_quiz(trader, "two", seven)
    assert (passed.correct, passed.score, passed.passed) == (7, 70, True)
    assert services.progress_of(trader, services.get_lesson("two")).completed_at is not None


def test_attempts_are_recorded(synced, trader):
    services.submit_quiz(trader, "one", {"q1": "0", "q2": "0", "q3": "0"})
    services.submit_quiz(trader, "one", RIGHT)
    attempts = db.session.scalars(select(QuizAttempt).order_by(QuizAttempt.id)).all()
    assert [(a.user_id, a.correct, a.score, a.passed) for a in attempts] == [(trader.id, 1, 33, False),
                                                                            (trader.id, 3, 100, True)]
    assert attempts[0].answers == {"1": 0, "2": 0, "3": 0}
    assert services.attempt_count(trader, services.get_lesson("one")) == 2


def test_progress_never_goes_backwards(synced, trader):
    lesson = services.get_lesson("one")
    services.submit_quiz(trader, "one", RIGHT)
    row = services.progress_of(trader, lesson)
    completed, passed_at = row.completed_at, row.passed_at
    assert (row.best_score, completed is not None, passed_at is not None) == (100, True, True)
    # a later failed attempt and a repeated "mark complete" change nothing that was reached
    services.submit_quiz(trader, "one", {"q1": "0", "q2": "1", "q3": "0"})
    services.mark_complete(trader, "one")
    db.session.expire_all()
    row = services.progress_of(trader, lesson)
    assert (row.best_score, row.completed_at, row.passed_at) == (100, completed, passed_at)
    assert count(LessonProgress) == 1


def test_mark_complete_is_idempotent_and_keeps_the_first_time(synced, trader):
    first = services.mark_complete(trader, "three").completed_at
    assert services.mark_complete(trader, "three").completed_at == first
    assert count(LessonProgress) == 1


def test_quiz_needs_every_answer_and_valid_choices(synced, trader):
    with pytest.raises(InvalidInput, match="question 2 has no answer"):
        services.submit_quiz(trader, "one", {"q1": "1", "q3": "1"})
    with pytest.raises(InvalidInput, match="Question 1: that choice does not exist"):
        services.submit_quiz(trader, "one", {"q1": "7", "q2": "0", "q3": "1"})
    with pytest.raises(InvalidInput):
        services.submit_quiz(trader, "one", {"q1": "-1", "q2": "0", "q3": "1"})
    with pytest.raises(NotFound):
        services.submit_quiz(trader, "three", {})
    assert count(QuizAttempt) == 0


def test_overview_and_recommendation(synced, trader):
    progress = services.overview(trader)
    assert [(p.path.slug, p.done, p.total) for p in progress] == [("basics", 0, 3), ("risk", 0, 1)]
    assert services.recommended(trader, progress).path.slug == "basics"
    services.mark_complete(trader, "r1")  # risk done; basics untouched
    progress = services.overview(trader)
    assert [(p.path.slug, p.percent, p.complete) for p in progress] == [("basics", 0, False), ("risk", 100, True)]
    assert services.recommended(trader, progress).path.slug == "basics"
    services.mark_complete(trader, "one")
    progress = services.overview(trader)
    rec = services.recommended(trader, progress)
    assert (rec.path.slug, rec.done, rec.percent) == ("basics", 1, 33)
    for slug in ("two", "three"):
        services.mark_complete(trader, slug)
    assert services.recommended(trader, services.overview(trader)) is None


def test_neighbours(synced):
    one, two, three = (services.get_lesson(s) for s in ("one", "two", "three"))
    assert services.neighbours(one) == (None, two)
    assert services.neighbours(two) == (one, three)
    assert services.neighbours(three) == (two, None)


# ------------------------------------------------------------------ pages
def test_pages_require_login(client, csrf, synced):
    for url in ("/learn", "/learn/paths/basics", "/learn/lessons/one", "/learn/lessons/one/quiz",
                "/learn/indicators", "/learn/indicators/rsi"):
        r = client.get(url)
        assert r.status_code == 303 and "/login" in r.headers["Location"], url
    t = csrf(client)
    for url, data in (("/learn/lessons/one/complete", {}), ("/learn/lessons/one/quiz", RIGHT)):
        r = client.post(url, data={"csrf_token": t, **data})
        assert r.status_code == 303 and "/login" in r.headers["Location"], url
    assert (count(LessonProgress), count(QuizAttempt)) == (0, 0)


def test_csrf_is_required_on_post(client, login, synced, trader):
    login(trader)
    assert client.post("/learn/lessons/one/complete").status_code == 400
    assert client.post("/learn/lessons/one/quiz", data=RIGHT).status_code == 400
    assert (count(LessonProgress), count(QuizAttempt)) == (0, 0)


def test_learn_index_shows_paths_progress_and_recommendation(client, login, synced, trader):
    login(trader)
    services.mark_complete(trader, "one")
    body = client.get("/learn").get_data(as_text=True)
    assert "Getting started" in body and "Risk management" in body
    assert 'id="path-basics"' in body and 'id="path-risk"' in body
    assert '<progress class="progress" max="3" value="1"' in body
    assert "Continue where you left off" in body
    assert "1 of 4 lessons complete" in body


def test_nav_points_to_learn(client, login, trader):
    login(trader)
    body = client.get("/home").get_data(as_text=True)
    assert 'href="/learn"' in body
    assert "/upcoming/learn" not in body


def test_unknown_path_and_lesson_are_404(client, login, synced, trader):
    login(trader)
    assert client.get("/learn/paths/nope").status_code == 404
    assert client.get("/learn/lessons/nope").status_code == 404
    assert client.get("/learn/lessons/three/quiz").status_code == 404  # no quiz on that lesson


def test_lesson_page_next_previous_and_mark_complete(client, login, synced, trader):
    login(trader)
    r = client.get("/learn/lessons/two")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'rel="prev" href="/learn/lessons/one"' in body and 'rel="next" href="/learn/lessons/three"' in body
    assert "Mark complete" in body
    r = client.post("/learn/lessons/two/complete", data={"csrf_token": token(body)})
    assert r.status_code == 303 and r.headers["Location"].endswith("/learn/lessons/three")
    assert services.progress_of(trader, services.get_lesson("two")).completed_at is not None


def test_mark_complete_over_htmx_swaps_the_button(client, hx, login, synced, trader):
    login(trader)
    t = token(client.get("/learn/lessons/three").get_data(as_text=True))
    r = hx.post("/learn/lessons/three/complete", data={"csrf_token": t})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and body.lstrip().startswith('<div id="lesson-complete"')
    assert "✓ Completed" in body and "Back to the path" not in body


def test_lesson_body_is_sanitised_on_the_page(client, login, synced, trader):
    login(trader)
    body = client.get("/learn/lessons/one").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_quiz_answers_are_not_in_the_page_before_an_attempt(client, login, synced, trader):
    login(trader)
    body = client.get("/learn/lessons/one/quiz").get_data(as_text=True)
    assert "First question?" in body and "right A" in body
    for secret in ("EXPLAIN-ONE", "EXPLAIN-TWO", "EXPLAIN-THREE", "is-answer", "right answer"):
        assert secret not in body
    # the choices carry nothing but their index
    assert re.findall(r'name="q1" value="(\d+)"', body) == ["0", "1"]


def test_quiz_submit_over_htmx_shows_score_answers_and_explanations(client, hx, login, synced, trader):
    login(trader)
    t = token(client.get("/learn/lessons/one/quiz").get_data(as_text=True))
    r = hx.post("/learn/lessons/one/quiz", data={"csrf_token": t, "q1": "1", "q2": "1", "q3": "1"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and body.lstrip().startswith('<section id="quiz"')
    assert "2 of 3 (66 %)" in body and "Not passed yet" in body
    for text in ("EXPLAIN-ONE", "EXPLAIN-TWO", "EXPLAIN-THREE"):
        assert text in body
    assert count(QuizAttempt) == 1
    # after an attempt the quiz page shows the last result; ?retry=1 gives a fresh form
    assert "EXPLAIN-ONE" in client.get("/learn/lessons/one/quiz").get_data(as_text=True)
    fresh = client.get("/learn/lessons/one/quiz?retry=1").get_data(as_text=True)
    assert "EXPLAIN-ONE" not in fresh and "Attempt 2" in fresh


def test_quiz_pass_completes_the_lesson(client, hx, login, synced, trader):
    login(trader)
    t = token(client.get("/learn/lessons/one/quiz").get_data(as_text=True))
    body = hx.post("/learn/lessons/one/quiz", data={"csrf_token": t, **RIGHT}).get_data(as_text=True)
    assert "✓ Passed" in body and "3 of 3 (100 %)" in body
    assert "✓ Completed" in client.get("/learn/lessons/one").get_data(as_text=True)


def test_incomplete_quiz_is_422_with_the_message(client, hx, login, synced, trader):
    login(trader)
    t = token(client.get("/learn/lessons/one/quiz").get_data(as_text=True))
    r = hx.post("/learn/lessons/one/quiz", data={"csrf_token": t, "q1": "1"})
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "question 2 has no answer" in body and "EXPLAIN-ONE" not in body
    assert 'name="q1" value="1" checked' in body
    assert count(QuizAttempt) == 0


def test_quiz_without_htmx_renders_the_full_page(client, login, synced, trader):
    login(trader)
    t = token(client.get("/learn/lessons/one/quiz").get_data(as_text=True))
    r = client.post("/learn/lessons/one/quiz", data={"csrf_token": t, **RIGHT})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<!doctype html>" in body and "✓ Passed" in body


def test_markdown_is_sanitised():
    from app.learn.markdown import render

    out = render("<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[bad](javascript:alert(1)) "
                 "[ok](https://example.com)\n\n| a | b |\n|--:|---|\n| 1 | 2 |\n")
    assert "<script" not in out and "<img" not in out
    assert 'href="javascript' not in out
    assert '<a href="https://example.com" rel="noopener noreferrer">ok</a>' in out
    assert '<td class="align-right">1</td>' in out and "style=" not in out


def test_markdown_images_only_from_the_illustrations_folder():
    from app.learn.markdown import render

    out = render("![ok](/static/learn/true-range.svg)\n\n![a](https://evil.example/x.png)\n\n"
                 "![b](/static/learn/../../secret)\n\n![c](/static/learn//evil.example/x)\n")
    assert out.count("<img") == 4
    assert re.findall(r'src="([^"]*)"', out) == ["/static/learn/true-range.svg"]


def test_shipped_illustrations_exist(app):
    from pathlib import Path

    with app.app_context():
        specs = content.load_tree()
    static = Path(app.static_folder)
    images = [m for p in specs for le in p.lessons for m in re.findall(r"\]\((/static/learn/[^)]+)\)", le.body)]
    assert len(images) >= 2
    for src in images:
        assert (static / src.removeprefix("/static/")).is_file(), src
