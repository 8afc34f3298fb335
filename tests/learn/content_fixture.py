"""A small content tree written into a temporary folder, for the learn tests."""
from __future__ import annotations

import textwrap
from pathlib import Path

QUIZ_3 = """\
quiz:
  - question: "First question?"
    choices: ["wrong A", "right A"]
    answer: 1
    explanation: "EXPLAIN-ONE because B."
  - question: "Second question?"
    choices: ["right B", "wrong B", "other B"]
    answer: 0
    explanation: "EXPLAIN-TWO because A."
  - question: "Third question?"
    choices: ["wrong C", "right C"]
    answer: 1
    explanation: "EXPLAIN-THREE because B."
"""


def lesson(slug: str, title: str, body: str = "Some **text**.", quiz: str = QUIZ_3, minutes: int = 4) -> str:
    return f"---\nslug: {slug}\ntitle: {title}\nminutes: {minutes}\nsummary: About {title}.\n{quiz}---\n{body}\n"


def write_tree(root: Path, *, lessons_b: int = 1) -> Path:
    """Two paths: 'basics' (onboarding, beginner) with three lessons, 'risk' with ``lessons_b``."""
    a, b = root / "01-basics", root / "02-risk"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    (a / "path.md").write_text("---\nslug: basics\ntitle: Basics\ncategory: onboarding\nlevel: beginner\n"
                               "summary: The basics.\n---\n")
    (a / "01-one.md").write_text(lesson("one", "Lesson one", "## Heading\n\nHello <script>alert(1)</script> world."))
    (a / "02-two.md").write_text(lesson("two", "Lesson two"))
    (a / "03-three.md").write_text(lesson("three", "Lesson three", quiz=""))
    (b / "path.md").write_text("---\nslug: risk\ntitle: Risk\ncategory: risk_management\nlevel: intermediate\n"
                               "summary: Sizing.\n---\n")
    for i in range(1, lessons_b + 1):
        (b / f"0{i}-r{i}.md").write_text(lesson(f"r{i}", f"Risk {i}"))
    return root


def ten_question_quiz() -> str:
    items = "".join(textwrap.dedent(f"""\
      - question: "Q{i}?"
        choices: ["no", "yes"]
        answer: 1
        explanation: "Because {i}."
    """) for i in range(1, 11))
    return "quiz:\n" + textwrap.indent(items, "  ")
