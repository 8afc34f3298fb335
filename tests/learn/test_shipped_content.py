"""The education content shipped in content/learn/: it loads, meets the product's minimum
(3 paths including the three named ones, 15 lessons, a quiz on each), syncs idempotently, and
every rule-language formula quoted in a lesson is valid."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.learn import content
from app.models import LearningPath, Lesson
from app.rules.compiler import check
from app.rules.functions import FUNCTIONS

CALL = re.compile(r"\b(" + "|".join(FUNCTIONS) + r")\(")


def test_shipped_content_loads_and_resyncs_unchanged(db):
    result = content.sync()
    paths = db.session.scalars(select(LearningPath)).all()
    lessons = db.session.scalars(select(Lesson)).all()
    assert {p.slug for p in paths} >= {"getting-started", "technical-indicators", "risk-management"}
    assert len(paths) >= 3 and len(lessons) >= 15
    assert all(len(le.questions) >= 3 for le in lessons), "every shipped lesson has a quiz of 3 or more"
    assert all(le.minutes > 0 and le.summary for le in lessons)
    assert result.counts["lessons"]["created"] == len(lessons)
    again = content.sync()
    assert again.counts["lessons"]["unchanged"] == len(lessons) and again.counts["paths"]["unchanged"] == len(paths)


def test_formulas_quoted_in_lessons_are_valid(app):
    with app.app_context():
        specs = content.load_tree()
    formulas = []
    for path in specs:
        for lesson in path.lessons:
            for span in re.findall(r"`([^`\n]+)`", lesson.body):
                # math written for people (×, −, '=' definitions) is not a formula
                if CALL.search(span) and not re.search(r"[×−]|(?<![<>=!])=(?!=)", span):
                    formulas.append((lesson.slug, span))
    assert len(formulas) >= 20
    bad = [(slug, f, check(f, None)["text"]) for slug, f in formulas if not check(f, None)["ok"]]
    assert bad == []


def test_demo_loader_syncs_the_lessons(db):
    from app.demo import load_demo

    load_demo(strategies=False)
    slugs = set(db.session.scalars(select(LearningPath.slug)))
    assert {"getting-started", "technical-indicators", "risk-management"} <= slugs
