"""Strategies in a real browser on the demo market: create a strategy from a template,
backtest it and watch the job's progress (a real RQ worker picks the job up), look at the
results, start tracking, find a ranked strategy on the leaderboard, clone and rate it.
Screenshots: tests/browser/artifacts/strategy-*.png, leaderboard.png."""
from __future__ import annotations

import re

import numpy as np
import pytest
from sqlalchemy import select

from app.extensions import db as _db
from tests.browser.conftest import assert_clean, shot

pytestmark = pytest.mark.browser


def _work_once() -> None:
    """One burst of a real RQ worker (no fork), in this thread and app context."""
    from rq import SimpleWorker

    from app.jobs import get_queue
    from app.redis_store import get_redis

    assert SimpleWorker([get_queue("default")], connection=get_redis()).work(burst=True)


def _ranked_strategy(factories, stock):
    """Another trader's public strategy with a forward history of 35 closed trades."""
    from app.strategies import queries, services
    from tests.strategies.test_leaderboard import AXIS, history, tracked

    rival = factories.user("rival@example.com")
    s = tracked(rival, stock, "Rival momentum", "momentum")
    history(s, stock, list(np.linspace(100000, 112000, 40)), [AXIS[-1 - (i % 30)] for i in range(35)])
    services.rate_strategy(factories.user(), s.id, 4, "Steady")
    queries.rebuild_leaderboard()
    return s


def test_create_backtest_track_rank_clone_rate(app, live_server, page, factories, monkeypatch):
    from app.market.services import load_demo_market
    from app.models import Backtest, Stock, Strategy
    from tests.factories import PASSWORD

    load_demo_market()
    stock = _db.session.scalar(select(Stock).where(Stock.symbol == "AAPL"))
    rival = _ranked_strategy(factories, stock)
    user = factories.user("quant@example.com")
    monkeypatch.setitem(app.config, "RQ_ASYNC", True)  # a real queue: the job waits for a worker
    page.set_viewport_size({"width": 1366, "height": 900})

    page.goto(f"{live_server}/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/home$"))

    # create from a template, with live rule validation
    page.click("nav >> text=Strategies")
    page.wait_for_url(re.compile(r".*/strategies$"))
    assert "No strategy yet" in page.content()
    page.click("[data-template=trend_atr]")
    page.wait_for_url(re.compile(r".*/strategies/new\?template=trend_atr$"))
    page.fill("#entry_rule", "close > sma(close, 20) and")
    page.wait_for_selector("#entry_rule-verdict .verdict-error")
    page.fill("#entry_rule", "close > sma(close, 20) and sma(close, 20) > sma(close, 50)")
    page.wait_for_selector("#entry_rule-verdict .verdict-ok")
    page.fill("#name", "My trend follower")
    page.select_option("#visibility", "public")
    shot(page, "strategy-form")
    page.click("#strategy-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/strategies/\d+$"))
    strategy = _db.session.scalar(select(Strategy).where(Strategy.owner_id == user.id))
    assert strategy.category == "trend_following" and len(strategy.symbols) == 20

    # backtest: the job is queued, the progress bar polls, a worker runs it, the page shows results
    page.click("#run-backtest")
    page.wait_for_url(re.compile(r".*/strategies/backtests/\d+$"))
    page.wait_for_selector(".job-progress[data-poll]")
    assert "Queued" in page.inner_text(".job-progress") or "Backtest queued" in page.content()
    shot(page, "strategy-backtest-progress")
    _work_once()
    page.wait_for_selector("#metrics", timeout=30_000)
    page.wait_for_selector("[data-strategy-chart].has-data")
    bt = _db.session.scalar(select(Backtest).where(Backtest.strategy_id == strategy.id))
    _db.session.refresh(bt)
    assert bt.status == "succeeded"
    text = page.inner_text("main").lower()
    for label in ("Monthly returns", "Annual return", "Sharpe", "Trades", "Drawdown"):
        assert label.lower() in text
    shot(page, "strategy-backtest-results")

    # start tracking
    page.click(f"text={strategy.name}")
    page.wait_for_url(re.compile(rf".*/strategies/{strategy.id}$"))
    page.click("#start-tracking")
    page.wait_for_selector("text=Forward tracking started")
    assert "tracking" in page.inner_text("h1")
    assert "Not ranked" in page.content()
    shot(page, "strategy-detail-owner")

    # the leaderboard: find the ranked strategy, switch timeframe, search
    page.click("nav >> text=Leaderboard")
    page.wait_for_url(re.compile(r".*/leaderboard$"))
    assert "Rival momentum" in page.inner_text("#board")
    page.select_option("#board-tf", "weekly")
    page.wait_for_selector("#board h2:has-text('Weekly')")
    page.fill("#board-q", "nothing like this")
    page.wait_for_selector("#board .empty")
    page.fill("#board-q", "rival")
    page.wait_for_selector("#board-table")
    shot(page, "leaderboard")

    # clone and rate it
    page.click("#board-table >> text=Rival momentum")
    page.wait_for_url(re.compile(rf".*/strategies/{rival.id}$"))
    page.wait_for_selector("text=Score by timeframe")
    page.select_option("#stars", "5")
    page.fill("#review", "Clean rules, honest numbers.")
    page.click("#rating-form button[type=submit]")
    page.wait_for_selector("text=Your rating is saved")
    shot(page, "strategy-detail-rival")
    page.click("#clone")
    page.wait_for_url(re.compile(r".*/strategies/\d+$"))
    assert "Cloned into a private draft" in page.content()
    _db.session.refresh(rival)
    assert rival.clones_count == 1 and rival.ratings_count == 2
    assert_clean(page)
