"""Demo data for `make run` (never in production)."""
from __future__ import annotations

from app.auth.services import create_user, find_user_by_email
from app.extensions import db
from app.security import random_password

DEMO_USERS = (
    ("trader@example.com", "Demo Trader", "user"),
    ("admin@example.com", "Demo Admin", "admin"),
)


def load_demo(strategies: bool = True) -> dict[str, str]:
    """Create missing demo users; returns {email: password} for the ones created now."""
    created = {}
    for email, name, role in DEMO_USERS:
        if find_user_by_email(email) is None:
            password = random_password()
            create_user(email, name, password, role=role, confirmed=True)
            created[email] = password
    db.session.commit()
    from app.market.services import load_demo_market

    load_demo_market()  # universe, a year of simulated bars, indicators, snapshots (when empty)
    from app.learn.content import sync as sync_learning_content

    sync_learning_content()  # paths, lessons and quizzes from content/learn (idempotent)
    from app.help.content import sync as sync_help_articles

    sync_help_articles()  # help center articles from content/help (idempotent)
    if strategies:
        from app.strategies.demo import load_demo_strategies

        load_demo_strategies()  # ~60 strategies: backtested, forward-tracked through the ledger, ranked
    return created
