"""Every page at phone width (390 px) fits the viewport: no page scrolls sideways; wide
tables scroll inside their card. Signed in with realistic data (the demo market, watchlists
with notes, saved screens, alerts, a paper account with positions and orders, a ranked
strategy with a backtest). Screenshots of every page at 1366 px and 390 px go to
tests/browser/artifacts/every-<page>-<width>.png."""
from __future__ import annotations

import re

import numpy as np
import pytest
from sqlalchemy import select

from app.extensions import db as _db
from tests.browser.conftest import ARTIFACTS, assert_clean
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1366, "height": 900}
SYMBOLS = "AAPL MSFT NVDA AMZN GOOGL META TSLA AMD INTC ORCL CRM ADBE"


def _seed(factories) -> dict:
    """A trader with a realistic amount of everything, and an admin."""
    from app.alerts import services as alerts
    from app.alerts.services import RuleInput
    from app.market.services import load_demo_market
    from app.models import Stock, Subscription
    from app.paper import services as paper
    from app.screener import services as screener
    from app.strategies import queries
    from app.strategies import services as strategies
    from app.watchlists import services as watchlists
    from tests.screener.test_routes import defn
    from tests.strategies.test_leaderboard import AXIS, history, tracked

    load_demo_market()
    from app.help.content import sync as sync_help_articles

    sync_help_articles()
    user = factories.user("trader@example.com", display_name="Morgan Trader")
    sub = _db.session.scalar(select(Subscription).where(Subscription.user_id == user.id))
    sub.plan, sub.status = "pro", "active"
    _db.session.commit()
    _db.session.refresh(user)
    admin = factories.admin(email="admin@example.com", display_name="Site Admin")
    tech = watchlists.create_watchlist(user, "Tech")
    watchlists.add_symbols(user, tech.id, SYMBOLS)
    for item in tech.items[:4]:
        watchlists.update_item(user, item.id, note="Earnings next week, watch the gap above resistance",
                               target="999.50", stop="12.25")
    watchlists.create_watchlist(user, "Dividends")
    screen = screener.save_screen(user, "Gainers over the 50-day", defn("f=change_pct:gt:0&f=price:gt:5"),
                                  is_public=True)
    screener.save_screen(user, "Oversold large caps", defn("f=rsi:lt:40"))
    alerts.create_rule(user, RuleInput(name="Apple breakout", symbol="AAPL",
                                       conditions=[{"kind": "price_above", "value": 100}]))
    alerts.create_rule(user, RuleInput(scope_kind="watchlist", scope_ref_id=tech.id,
                                       conditions=[{"kind": "price_above", "value": 50}]))
    account = paper.open_account(user, "Swing account")
    for sym in ("AAPL", "MSFT", "NVDA"):
        paper.place_order(user, account.id, symbol=sym, side="buy", qty=10)
    price = _db.session.scalar(select(Stock).where(Stock.symbol == "AMZN")).snapshot.price
    paper.place_order(user, account.id, symbol="AMZN", side="buy", qty=5, type="limit",
                      limit_price=f"{float(price) * 0.9:.2f}", tif="gtc")
    stock = _db.session.scalar(select(Stock).where(Stock.symbol == "AAPL"))
    ranked = tracked(user, stock, "Momentum on megacaps", "momentum")
    history(ranked, stock, list(np.linspace(100000, 112000, 40)), [AXIS[-1 - (i % 30)] for i in range(35)])
    mine = strategies.create_strategy(user, name="RSI dip buyer", category="mean_reversion", universe=SYMBOLS,
                                      entry_rule="rsi(close, 14) < 35", exit_rule="rsi(close, 14) > 60",
                                      sizing_pct="10", stop_loss_pct="5", take_profit_pct="12")
    backtest = strategies.start_backtest(user, mine.id)
    queries.rebuild_leaderboard()
    return {"user": user, "admin": admin, "tech": tech.id, "screen": screen.id, "account": account.id,
            "strategy": mine.id, "ranked": ranked.id, "backtest": backtest.id,
            "rule": alerts.list_rules(user)[0].id}


def _pages(d: dict) -> dict[str, str]:
    return {
        "home": "/home",
        "screener": "/screener?f=change_pct:gt:0&sort=change_pct&dir=desc",
        "screens": "/screener/screens",
        "watchlists": "/watchlists?all=1",
        "watchlist": f"/watchlists/{d['tech']}",
        "stock": "/stocks/AAPL",
        "search": "/stocks/search?q=a",
        "alerts": "/alerts",
        "alert-new": "/alerts/new",
        "alert-edit": f"/alerts/{d['rule']}/edit",
        "alerts-triggered": "/alerts/triggered",
        "alerts-settings": "/alerts/settings",
        "alerts-templates": "/alerts/templates",
        "paper": "/paper",
        "paper-account": f"/paper/{d['account']}",
        "paper-reset": f"/paper/{d['account']}/reset",
        "strategies": "/strategies",
        "strategy-new": "/strategies/new",
        "strategy": f"/strategies/{d['strategy']}",
        "strategy-ranked": f"/strategies/{d['ranked']}",
        "strategy-edit": f"/strategies/{d['strategy']}/edit",
        "backtest": f"/strategies/backtests/{d['backtest']}",
        "leaderboard": "/leaderboard",
        "rules-lab": "/rules",
        "rules-help": "/rules/help",
        "help": "/help",
        "help-search": "/help?q=alert",
        "help-article": "/help/how-the-leaderboard-score-works",
        "account": "/account",
        "account-security": "/account/security",
        "account-email": "/account/email",
        "account-password": "/account/password",
        "upcoming": "/upcoming/journal",
        "error-404": "/watchlists/987654321",
        "unknown-symbol": "/stocks/NOSUCH",
    }


ADMIN_PAGES = {"admin": "/admin", "admin-users": "/admin/users", "admin-audit": "/admin/audit",
               "admin-scanners": "/admin/scanners"}
PUBLIC_PAGES = {"landing": "/", "login": "/login", "register": "/register", "forgot": "/forgot",
                "reset-bad-link": "/reset/not-a-token", "help-public": "/help/alert-channels-and-conditions"}


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/home$"))


def _too_wide(page, width: int) -> str | None:
    """The page's width beyond the viewport, with the offending elements (for the failure
    message), or None when it fits. A mobile browser widens its layout viewport to fit wide
    content (innerWidth grows with it), so the device width is the yardstick too."""
    return page.evaluate("""(width) => {
      const vw = Math.min(window.innerWidth, width), sw = document.documentElement.scrollWidth;
      if (sw <= vw) return null;
      const clipped = (el) => {
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
          if (getComputedStyle(a).overflowX !== 'visible') return true;
        }
        return false;
      };
      const out = [];
      for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        // an element past the edge, or one whose text runs past it (a text node has no box)
        const past = r.right > vw + 1 || (el.scrollWidth > el.clientWidth + 1 && r.left + el.scrollWidth > vw + 1
                                          && getComputedStyle(el).overflowX === 'visible');
        if (past && !clipped(el)) {
          out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                   (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') +
                   ' right=' + Math.round(r.right));
        }
      }
      return sw + 'px wide: ' + out.slice(0, 6).join(', ');
    }""", width)


# The key column of each wide table is in view at phone width without scrolling sideways.
KEY_COLUMNS = {"watchlist": ("#wl-table", "Today"), "screener": ("#screen-table", "Change"),
               "paper-account": ("#positions", "Unrealised"), "leaderboard": ("#board-table", "Score")}


def _header_right(page, table: str, text: str) -> float:
    """The right edge (px, in the viewport) of the header cell of `table` that reads `text`."""
    return page.evaluate("""([table, text]) => {
      const th = [...document.querySelectorAll(table + ' thead th')].find(t => t.innerText.trim().toLowerCase().startsWith(text.toLowerCase()));
      return th ? th.getBoundingClientRect().right : 1e9;
    }""", [table, text])


def _buttons_clipped(page) -> list[str]:
    """Row buttons of the account's tables that their scrolling card cuts off."""
    return page.evaluate("""() => [...document.querySelectorAll('#positions button, #open-orders button')]
      .filter(b => b.getBoundingClientRect().right > b.closest('.table-wrap').getBoundingClientRect().right + 0.5)
      .map(b => b.innerText)""")


def _field_width(page, selector: str) -> float:
    return page.evaluate("(s) => document.querySelector(s).getBoundingClientRect().width", selector)


def _check(page, name: str, label: str, problems: list[str]) -> None:
    if name == "admin-audit" and _field_width(page, "#audit-user") < (180 if label == "390" else 240):
        problems.append(f"admin-audit at {label} px: the user filter is {_field_width(page, '#audit-user'):.0f}px wide")
    if label == "390":
        wide = _too_wide(page, PHONE["width"])
        if wide:
            problems.append(f"{name}: {wide}")
        if name in KEY_COLUMNS:
            right = _header_right(page, *KEY_COLUMNS[name])
            if right > PHONE["width"]:
                problems.append(f"{name}: the {KEY_COLUMNS[name][1]} column is off screen (right edge {right:.0f}px)")
    elif name == "paper-account" and _buttons_clipped(page):
        problems.append(f"paper-account at 1366 px clips its {_buttons_clipped(page)} buttons")


def _tour(browser, base: str, email: str | None, pages: dict[str, str]) -> list[str]:
    """Visit every page at both widths; returns what overflows at phone width."""
    problems = []
    ARTIFACTS.mkdir(exist_ok=True)
    for label, viewport, extra in (("390", PHONE, {"is_mobile": True, "has_touch": True}), ("1366", WIDE, {})):
        context = browser.new_context(viewport=viewport, **extra)
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.problems = []
        page.on("pageerror", lambda exc, p=page: p.problems.append(f"pageerror: {exc}"))
        try:
            if email:
                _sign_in(page, base, email)
            for name, path in pages.items():
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                _check(page, name, label, problems)
                page.screenshot(path=str(ARTIFACTS / f"every-{name}-{label}.png"), full_page=True)
            assert_clean(page)
        finally:
            context.close()
    return problems


def test_every_page_fits_a_phone(browser, live_server, factories):
    d = _seed(factories)
    problems = _tour(browser, live_server, "trader@example.com", _pages(d))
    problems += _tour(browser, live_server, "admin@example.com", ADMIN_PAGES)
    problems += _tour(browser, live_server, None, PUBLIC_PAGES)
    assert problems == [], "pages wider than a 390 px phone:\n" + "\n".join(problems)
