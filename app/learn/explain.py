"""Indicator explanations, read straight from the rule language's function table
(:data:`app.rules.functions.FUNCTION_LIST`): the page for ``sma`` shows the same signature,
defaults, formula and example the checker and evaluator use, so the two can never disagree."""
from __future__ import annotations

from app.errors import NotFound
from app.rules.functions import CATEGORIES, FUNCTION_LIST, FUNCTIONS, SERIES, WINDOW, Function


def get(name: str) -> Function:
    fn = FUNCTIONS.get(name.lower())
    if fn is None:
        raise NotFound(f"No indicator or function called “{name}”.")
    return fn


def by_category() -> list[tuple[str, list[Function]]]:
    return [(c, [f for f in FUNCTION_LIST if f.category == c]) for c in CATEGORIES]


def _default(param) -> str:
    if param.required:
        return "required"
    d = param.default
    if isinstance(d, float) and d.is_integer():
        d = int(d)
    return f"{d} bars" if param.kind == WINDOW else str(d)


def view(fn: Function) -> dict:
    """Everything the explanation page shows, derived from the table entry."""
    params = [{"name": p.name, "kind": {SERIES: "series", WINDOW: "window (bars)"}.get(p.kind, "constant"),
               "default": _default(p), "description": p.description,
               "range": f"{p.lo:g} to {p.hi:g}" if p.lo is not None and p.hi is not None else ""}
              for p in fn.params]
    return {"signature": fn.signature(), "params": params, "returns": fn.returns,
            "what": fn.description, "details": fn.details, "formula": fn.formula, "usage": fn.usage,
            "mistakes": list(fn.mistakes), "example": fn.example}


def missing(fn: Function) -> list[str]:
    """The explanation parts a function lacks (empty when complete)."""
    parts = {"description": fn.description, "details": fn.details, "formula": fn.formula, "usage": fn.usage,
             "mistakes": fn.mistakes, "example": fn.example}
    return [name for name, value in parts.items() if not value]
