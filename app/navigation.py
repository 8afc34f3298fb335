"""The main navigation: one entry per domain.

`endpoint` is None for a domain whose pages are not built yet; the nav then links to a short
notice page (dashboards.upcoming), which the domain's own blueprint replaces when it lands.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    endpoint: str | None
    blurb: str


NAV: tuple[NavItem, ...] = (
    NavItem("home", "Home", "dashboards.home", "Your overview."),
    NavItem("screener", "Screener", "screener.index", "Filter the whole US market by price, volume, indicators and formulas."),
    NavItem("watchlists", "Watchlists", "watchlists.index", "Keep the symbols you follow, with targets and stops."),
    NavItem("alerts", "Alerts", "alerts.index", "Get told the moment a condition holds: in-app, email, SMS or webhook."),
    NavItem("paper", "Paper trading", "paper.index", "Trade with virtual money at real prices."),
    NavItem("strategies", "Strategies", "strategies.index", "Build rule-based strategies, backtest them and track them forward."),
    NavItem("leaderboard", "Leaderboard", "strategies.leaderboard", "Verified strategies ranked by a transparent score."),
    NavItem("social", "Traders", None, "Follow and copy other traders."),
    NavItem("journal", "Journal", None, "Keep a trading journal and get performance reviews."),
    NavItem("learn", "Learn", "learn.index", "Lessons and indicator explanations."),
)

NAV_BY_KEY = {item.key: item for item in NAV}
