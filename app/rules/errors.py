"""The one exception the rule language raises for anything a user typed."""

from __future__ import annotations


class RuleError(ValueError):
    """A rule (or custom indicator definition) is invalid, or cannot be evaluated.

    Attributes:
        message: what is wrong, in plain words (without the position).
        position: 0-based character offset in the text, or ``None`` when the error is not tied
            to one place (e.g. a time limit).
        column: 1-based column (``position + 1``) as shown to people, or ``None``.
        expected: short descriptions of what would have been valid there (may be empty).
        suggestion: a "did you mean" replacement, if any.
    """

    def __init__(
        self,
        message: str,
        position: int | None = None,
        expected: list[str] | tuple[str, ...] | None = None,
        suggestion: str | None = None,
    ):
        self.message = message
        self.position = position
        self.column = None if position is None else position + 1
        self.expected = list(expected or [])
        self.suggestion = suggestion
        super().__init__(self.describe())

    def describe(self) -> str:
        text = self.message
        if self.column is not None:
            text += f" at column {self.column}"
        if self.suggestion:
            text += f" — did you mean `{self.suggestion}`?"
        elif self.expected:
            text += " — expected " + _join_or(self.expected)
        return text

    def to_dict(self) -> dict:
        return {
            "message": self.message,
            "position": self.position,
            "column": self.column,
            "expected": self.expected,
            "suggestion": self.suggestion,
            "text": self.describe(),
        }


def _join_or(items: list[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]
