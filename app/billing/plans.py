"""The plan table (PRODUCT.md section 11): the only source of truth for prices and limits.

Read by services (limits) and templates (pricing). `None` means unlimited.
"""
from __future__ import annotations

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
