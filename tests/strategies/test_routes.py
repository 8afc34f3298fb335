"""Routes: login everywhere, CSRF, owner scoping (404), bad input -> 422, progress UI."""
from __future__ import annotations

import re

import pytest

from app.extensions import db as _db
from app.models import Backtest, JobRun
from app.strategies import services


def token(client, csrf, url="/strategies/new"):
    return csrf(client, url)


@pytest.mark.parametrize("method,url", [
    ("get", "/strategies"), ("get", "/strategies/new"), ("get", "/strategies/1"), ("get", "/strategies/1/edit"),
    ("post", "/strategies"), ("post", "/strategies/1/backtests"), ("post", "/strategies/1/clone"),
    ("post", "/strategies/1/rate"), ("post", "/strategies/1/track"), ("post", "/strategies/1/recalculate"),
    ("get", "/strategies/backtests/1"), ("get", "/strategies/backtests/1/progress"),
    ("get", "/strategies/backtests/1/equity.json"), ("get", "/strategies/1/forward.json"),
    ("get", "/leaderboard"), ("get", "/leaderboard/rows"),
])
def test_login_required(client, method, url):
    r = getattr(client, method)(url)
    if method == "post" and r.status_code == 400:  # CSRF is checked first for anonymous posts
        return
    assert r.status_code in (302, 303) and "/login" in r.headers["Location"]


def test_csrf_required(client, login, owner, other, strategy):
    login(other)
    for url in (f"/strategies/{strategy.id}/clone", f"/strategies/{strategy.id}/rate"):
        assert client.post(url, data={"stars": "5"}).status_code == 400
    _db.session.refresh(strategy)
    assert strategy.clones_count == 0


def test_others_private_strategies_are_404(client, login, csrf, owner, other, strategy):
    strategy.visibility = "private"
    _db.session.commit()
    bt = services.start_backtest(owner, strategy.id)
    login(other)
    tok = token(client, csrf)
    for url in (f"/strategies/{strategy.id}", f"/strategies/{strategy.id}/edit", f"/strategies/{strategy.id}/forward.json",
                f"/strategies/backtests/{bt.id}", f"/strategies/backtests/{bt.id}/equity.json",
                f"/strategies/backtests/{bt.id}/progress"):
        assert client.get(url).status_code == 404, url
    for url in (f"/strategies/{strategy.id}/clone", f"/strategies/{strategy.id}/rate",
                f"/strategies/{strategy.id}/backtests", f"/strategies/{strategy.id}/track",
                f"/strategies/{strategy.id}/recalculate", f"/strategies/{strategy.id}/edit"):
        assert client.post(url, data={"csrf_token": tok, "stars": "5"}).status_code == 404, url
    # public: readable, but the owner's actions still 404
    strategy.visibility = "public"
    _db.session.commit()
    assert client.get(f"/strategies/{strategy.id}").status_code == 200
    assert client.post(f"/strategies/{strategy.id}/track", data={"csrf_token": tok}).status_code == 404
    assert client.get(f"/strategies/{strategy.id}/edit").status_code == 404
    assert client.get("/strategies/999999").status_code == 404


def test_create_with_bad_input_is_422_and_good_input_redirects(client, hx, login, csrf, owner, bars):
    bars.add("AAA")
    login(owner)
    tok = token(client, csrf)
    data = {"csrf_token": tok, "name": "Mine", "category": "momentum", "universe": "AAA", "entry_rule": "close >",
            "exit_rule": "close < open", "sizing_pct": "10", "visibility": "private"}
    r = hx.post("/strategies", data=data)
    assert r.status_code == 422 and "Entry rule" in r.get_data(as_text=True)
    r = client.post("/strategies", data={**data, "entry_rule": "close > open", "sizing_pct": "1e999"})
    assert r.status_code == 422
    r = client.post("/strategies", data={**data, "entry_rule": "close > open", "category": "<script>"})
    assert r.status_code == 422
    r = hx.post("/strategies", data={**data, "entry_rule": "close > open"})
    assert r.status_code == 204 and re.match(r"/strategies/\d+$", r.headers["HX-Redirect"])


def test_backtest_from_the_page_with_live_progress(client, hx, login, csrf, owner, strategy):
    login(owner)
    tok = token(client, csrf, f"/strategies/{strategy.id}")
    r = client.post(f"/strategies/{strategy.id}/backtests", data={"csrf_token": tok, "capital": "abc"})
    assert r.status_code == 422
    r = client.post(f"/strategies/{strategy.id}/backtests", data={"csrf_token": tok, "capital": "100000",
                                                                  "slippage_bps": "5", "commission": "0"})
    assert r.status_code == 303
    bt_id = int(r.headers["Location"].rsplit("/", 1)[1])
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    for text in ("Monthly returns", "Annual return", "252 trading days", "Max drawdown", "data-drawdown-chart"):
        assert text in html
    data = client.get(f"/strategies/backtests/{bt_id}/equity.json").get_json()
    assert data["equity"] and len(data["equity"]) == len(data["drawdown"]) == len(data["benchmark"])
    # a running job: the fragment polls; once finished it stops polling and refreshes the page
    bt = _db.session.get(Backtest, bt_id)
    run = _db.session.get(JobRun, bt.job_run_id)
    run.status, run.progress, run.message = "running", 40, "Simulating"
    bt.status = "running"
    _db.session.commit()
    page = client.get(f"/strategies/backtests/{bt_id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page and 'value="40"' in page
    run.status, bt.status = "succeeded", "succeeded"
    _db.session.commit()
    r = hx.get(f"/strategies/backtests/{bt_id}/progress")
    assert r.status_code == 200 and "hx-trigger" not in r.get_data(as_text=True) and r.headers["HX-Refresh"] == "true"
    # the plan limit (free: 2 a month) gives a clear message, not a 500
    client.post(f"/strategies/{strategy.id}/backtests", data={"csrf_token": tok, "capital": "100000"})
    r = client.post(f"/strategies/{strategy.id}/backtests", data={"csrf_token": tok, "capital": "100000"})
    assert r.status_code == 403 and "Upgrade" in r.get_data(as_text=True)


def test_detail_clone_rate_and_view(client, hx, login, csrf, owner, other, strategy):
    services.start_backtest(owner, strategy.id)
    services.start_tracking(owner, strategy.id)
    login(other)
    html = client.get(f"/strategies/{strategy.id}").get_data(as_text=True)
    assert "Score by timeframe" in html and "Backtest vs forward" in html and "Forward (all time)" in html
    client.get(f"/strategies/{strategy.id}")
    _db.session.refresh(strategy)
    assert strategy.viewers_count == 1
    tok = token(client, csrf, f"/strategies/{strategy.id}")
    r = client.post(f"/strategies/{strategy.id}/clone", data={"csrf_token": tok})
    first = r.headers["Location"]
    r = client.post(f"/strategies/{strategy.id}/clone", data={"csrf_token": tok})
    assert r.headers["Location"] == first
    r = hx.post(f"/strategies/{strategy.id}/rate", data={"csrf_token": tok, "stars": "4", "review": "Nice <b>one</b>"})
    assert r.status_code == 200 and "&lt;b&gt;one&lt;/b&gt;" in r.get_data(as_text=True)
    r = hx.post(f"/strategies/{strategy.id}/rate", data={"csrf_token": tok, "stars": "9"})
    assert r.status_code == 422
    login(owner)
    r = hx.post(f"/strategies/{strategy.id}/rate", data={"csrf_token": tok, "stars": "5"})
    assert r.status_code == 422 and "own strategy" in r.get_data(as_text=True)
    r = client.post(f"/strategies/{strategy.id}/recalculate", data={"csrf_token": token(client, csrf, "/strategies")})
    assert r.status_code == 303
    assert _db.session.query(JobRun).filter_by(kind="strategy_recalculate").one().status == "succeeded"


def test_my_strategies_lists_clones_with_originals(client, login, owner, other, strategy):
    copy, _ = services.clone_strategy(other, strategy.id)
    login(other)
    html = client.get("/strategies").get_data(as_text=True)
    assert copy.name in html and "clone of" in html and strategy.name in html
