"""First-visit walkthroughs of the screener, alerts and strategies pages.

Each page has a few steps; a step names the element it is about by a CSS selector, which the
page's small script (static/js/walkthrough.js) outlines after every HTMX swap of the panel.
Progress is one row per (user, page): ``step`` is where the user is, ``dismissed_at`` set
(by "Dismiss" or by finishing the last step) means the panel never shows again. No row yet
means step 0: the panel shows on the first visit and, until dismissed, on the next ones at
the saved step."""
from __future__ import annotations

from dataclasses import dataclass

from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import utcnow
from app.errors import NotFound
from app.extensions import db
from app.help import bp
from app.models.help import WALKTHROUGH_PAGES, WalkthroughProgress


@dataclass(frozen=True)
class Step:
    target: str  # CSS selector of the element the step is about
    title: str
    text: str


STEPS: dict[str, tuple[Step, ...]] = {
    "screener": (
        Step(".presets", "Start from a preset", "Presets such as Top gainers or RSI oversold fill in the filters for you."),
        Step("#filters", "Filters", "Each row is a quantity, an operator and a value; every row must hold. "
                                    "The ? next to an indicator explains it."),
        Step("#q", "Formulas", "Add any condition in the rule language, e.g. close > sma(close, 50). "
                               "It is checked as you type."),
        Step("#results", "Results", "Click a column header to sort, choose columns, export to CSV or add a "
                                    "symbol to a watchlist."),
        Step("#save-form", "Save the screen", "Save it to come back later, share it, or be alerted when symbols "
                                              "enter or leave it."),
    ),
    "alerts": (
        Step(".page-head .btn-primary", "Create an alert", "Pick what to watch (a symbol, a watchlist, a saved "
                                                           "screen), a condition and how to be told."),
        Step(".subnav", "Triggered, templates, settings", "See every firing, reuse a rule as a template, and set "
                                                          "your phone number and webhook URL."),
        Step(".bell", "The bell", "New alerts appear here on every page, within a minute of the market update."),
    ),
    "strategies": (
        Step(".page-head .btn-primary", "Build a strategy", "Entry and exit rules in the rule language, sizing, "
                                                            "stop-loss and take-profit."),
        Step("main section.card", "Backtest, then track", "Backtest on daily bars; a public strategy that tracks forward "
                                                   "trades its own paper account every day."),
        Step(".page-head a[href$='/leaderboard']", "The leaderboard", "Forward-tracked public strategies are "
                                                                      "ranked by a transparent 0–100 score."),
    ),
}
assert set(STEPS) == set(WALKTHROUGH_PAGES)


@dataclass(frozen=True)
class View:
    page: str
    index: int
    total: int
    step: Step

    @property
    def is_last(self) -> bool:
        return self.index == self.total - 1


def _check_page(page: str) -> tuple[Step, ...]:
    if page not in STEPS:
        raise NotFound("No walkthrough for that page.")
    return STEPS[page]


def _row(user, page: str) -> WalkthroughProgress | None:
    return db.session.scalar(select(WalkthroughProgress).where(WalkthroughProgress.user_id == user.id,
                                                               WalkthroughProgress.page == page))


def current(user, page: str) -> View | None:
    """The step to show ``user`` on ``page``, or None when dismissed or finished."""
    steps = _check_page(page)
    row = _row(user, page)
    if row is not None and (row.dismissed_at is not None or row.step >= len(steps)):
        return None
    index = row.step if row else 0
    return View(page, index, len(steps), steps[index])


def _save(user, page: str, change) -> None:
    """Apply ``change`` to the user's row (created if missing); a concurrent first write on
    the unique (user, page) key is retried as an update."""
    for _ in range(2):
        row = _row(user, page)
        if row is None:
            row = WalkthroughProgress(user_id=user.id, page=page, step=0)
            db.session.add(row)
        change(row)
        try:
            db.session.commit()
            return
        except IntegrityError:
            db.session.rollback()


def advance(user, page: str) -> View | None:
    """Go to the next step; after the last one the walkthrough is done (dismissed)."""
    steps = _check_page(page)

    def step_on(row: WalkthroughProgress) -> None:
        if row.dismissed_at is None:
            row.step = min(row.step + 1, len(steps))
            if row.step >= len(steps):
                row.dismissed_at = utcnow()

    _save(user, page, step_on)
    return current(user, page)


def dismiss(user, page: str) -> None:
    _check_page(page)

    def close(row: WalkthroughProgress) -> None:
        row.dismissed_at = row.dismissed_at or utcnow()

    _save(user, page, close)


@bp.app_template_global()
def walkthrough_for(page: str) -> View | None:
    """For the page templates: the signed-in user's current step on ``page`` (or None)."""
    if not getattr(current_user, "is_authenticated", False):
        return None
    return current(current_user, page)
