"""The plan table (PRODUCT.md section 11): the only source of truth for prices and limits.

Read by services (limits) and templates (pricing). `None` means unlimited.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

UNLIMITED = None


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    price_month: Decimal
    price_year: Decimal
    watchlists: int | None
    alerts_active: int | None
    saved_screens: int | None
    sms_per_month: int | None
    api_calls_per_day: int | None
    backtests_per_month: int | None
    copy_trading: bool
    watchlist_items: int | None
    paper_accounts: int | None = 1
    # alerts: webhooks as a channel, whole-universe scope
    alert_webhooks: bool = False
    alerts_universe: bool = False

    def limit(self, name: str) -> int | None:
        return getattr(self, name)


PLANS: dict[str, Plan] = {
    "free": Plan("free", "Free", Decimal("0"), Decimal("0"), 1, 3, 1, 0, 100, 2, False, 50, 1),
    "basic": Plan("basic", "Basic", Decimal("9.99"), Decimal("101.99"), 3, 25, 5, 50, 2500, 10, False, 200, 3,
                  alert_webhooks=True),
    "pro": Plan("pro", "Pro", Decimal("24.99"), Decimal("254.99"), 10, 150, 25, 500, 10000, UNLIMITED, True, 1000, 10,
                alert_webhooks=True, alerts_universe=True),
}
DEFAULT_PLAN = "free"


def get_plan(key: str | None) -> Plan:
    return PLANS.get(key or DEFAULT_PLAN, PLANS[DEFAULT_PLAN])


def plan_for(user) -> Plan:
    """The plan currently in force for a user (free without an active subscription)."""
    sub = getattr(user, "subscription", None)
    if sub is None or sub.status != "active":
        return PLANS[DEFAULT_PLAN]
    return get_plan(sub.plan)


# --- race-free limit checks --------------------------------------------------------------


def lock_owner(user_id: int) -> None:
    """Serialise one owner's limited writes until the current transaction ends.

    PostgreSQL: a row lock on the owner (SELECT ... FOR UPDATE); a second request for the
    same owner waits at this line until the first commits, then counts what it wrote.
    SQLite has no row locks: a no-op UPDATE takes the database's write lock now, so a second
    writer waits (busy timeout) until this transaction commits.
    """
    from sqlalchemy import select, update

    from app.extensions import db
    from app.models.user import User

    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    else:
        users = User.__table__
        db.session.execute(update(users).where(users.c.id == user_id).values(id=users.c.id))


def enforce_limit(user, plan: Plan, name: str, used: Callable[[], int], *, noun: str, message: str,
                  adding: int = 1) -> None:
    """Raise LimitReached when `adding` more would pass the plan's limit `name`.

    The one limit check every domain uses: it locks the owner first (see `lock_owner`), so the
    count and the caller's insert happen as one step for that owner; the caller must insert
    and commit in the same transaction. `message` may use {plan}, {limit} and {s} (plural).
    `plan` is the caller's `plan_for(user)` (domains look the plan up through their own import).
    """
    limit = plan.limit(name)
    if limit is None:
        return
    lock_owner(user.id)
    count = used()
    if count + adding > limit:
        from app.errors import LimitReached

        raise LimitReached(message.format(plan=plan.name, limit=limit, s="" if limit == 1 else "s"),
                           usage=f"{plan.name} plan: {count} of {limit} {noun} used")
