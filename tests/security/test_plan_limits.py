"""A7 (plan limits are race-free) and A19 (a plan limit says which limit, the usage, and
links to the plans)."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from app.errors import LimitReached
from app.extensions import db as _db
from app.models import PaperAccount, SavedScreen, User, Watchlist


def _slow(monkeypatch, module, name):
    """Make the limit's count slow, so without a lock both requests count before either inserts."""
    real = getattr(module, name)

    def counted(*args, **kwargs):
        result = real(*args, **kwargs)
        time.sleep(0.3)
        return result

    monkeypatch.setattr(module, name, counted)


def _create_watchlist(user, i):
    from app.watchlists import services

    services.create_watchlist(user, f"List {i}")


def _save_screen(user, i):
    from werkzeug.datastructures import MultiDict

    from app.screener import services
    from app.screener.definition import ScreenDefinition

    services.save_screen(user, f"Screen {i}", ScreenDefinition.parse(MultiDict([("f", "rsi:lt:30")])))


def _open_account(user, i):
    from app.paper import services

    services.open_account(user, f"Account {i}")


CASES = {
    "watchlists": ("app.watchlists.services", "list_watchlists", _create_watchlist, Watchlist),
    "saved_screens": ("app.screener.services", "list_screens", _save_screen, SavedScreen),
    "paper_accounts": ("app.paper.accounts", "list_accounts", _open_account, PaperAccount),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_parallel_creates_never_pass_the_limit(app, db, factories, monkeypatch, case):
    import importlib

    module_name, count_fn, create, model = CASES[case]
    _slow(monkeypatch, importlib.import_module(module_name), count_fn)
    uid = factories.user("free@example.com").id
    start, outcomes = threading.Barrier(2), []

    def attempt(i):
        with app.app_context():
            user = _db.session.get(User, uid)
            start.wait()
            try:
                create(user, i)
                outcomes.append("created")
            except LimitReached:
                outcomes.append("limit")
            finally:
                _db.session.rollback()
                _db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created", "limit"]
    assert db.session.scalar(select(func.count()).select_from(model).where(model.owner_id == uid)) == 1


def test_limit_reached_names_the_limit_and_the_usage(db, factories):
    from app.watchlists import services

    user = factories.user()
    services.create_watchlist(user, "One")
    with pytest.raises(LimitReached) as exc:
        services.create_watchlist(user, "Two")
    assert exc.value.usage == "Free plan: 1 of 1 watchlists used"
    assert exc.value.upgrade_url == "/account#plan"


def _limit_response(app, htmx: bool):
    headers = {"HX-Request": "true"} if htmx else {}
    with app.test_request_context("/watchlists", headers=headers):
        app.preprocess_request()
        exc = LimitReached("Your Free plan allows 1 watchlist.", usage="Free plan: 1 of 1 watchlists used")
        return app.make_response(app.handle_user_exception(exc))


def test_plan_limit_page_says_usage_and_links_to_the_plans(app, db):
    r = _limit_response(app, htmx=False)
    body = r.get_data(as_text=True)
    assert r.status_code == 403
    assert "Plan limit reached" in body and "Free plan: 1 of 1 watchlists used" in body
    assert "Your Free plan allows 1 watchlist." in body
    assert 'href="/account#plan" data-error-link' in body
    assert "Something went wrong" not in body


def test_plan_limit_fragment_for_htmx_says_usage_and_links_to_the_plans(app, db):
    r = _limit_response(app, htmx=True)
    body = r.get_data(as_text=True)
    assert r.status_code == 403 and "<html" not in body
    assert "<span data-error-message>Free plan: 1 of 1 watchlists used. Your Free plan allows 1 watchlist.</span>" in body
    assert '<a href="/account#plan" data-error-link>See plans and limits</a>' in body


def test_saved_screen_limit_over_htmx_and_without(client, hx, csrf, db, factories, login):
    login(factories.user())
    token = csrf(client, "/screener")
    client.post("/screener/screens", data={"csrf_token": token, "name": "One", "qs": "f=rsi:lt:30"})
    r = hx.post("/screener/screens", data={"csrf_token": token, "name": "Two", "qs": "f=rsi:gt:70"})
    assert r.status_code == 403
    body = r.get_data(as_text=True)
    assert "Free plan: 1 of 1 saved screens used. Your Free plan allows 1 saved screen." in body
    assert 'href="/account#plan"' in body
    r = client.post("/screener/screens", data={"csrf_token": token, "name": "Two", "qs": "f=rsi:gt:70"})
    assert r.status_code == 403
    body = r.get_data(as_text=True)
    assert "Free plan: 1 of 1 saved screens used" in body and 'href="/account#plan"' in body


def test_account_page_has_the_plan_anchor(client, db, factories, login):
    login(factories.user())
    assert 'id="plan"' in client.get("/account").get_data(as_text=True)


def test_paper_account_limit_over_htmx_names_usage_and_links_to_plans(client, hx, csrf, db, factories, login):
    login(factories.user())
    token = csrf(client, "/paper")
    assert client.post("/paper/accounts", data={"csrf_token": token, "name": "One",
                                                "starting_balance": "1000"}).status_code == 303
    r = hx.post("/paper/accounts", data={"csrf_token": token, "name": "Two", "starting_balance": "1000"})
    assert r.status_code == 403
    body = r.get_data(as_text=True)
    assert "Free plan: 1 of 1 paper accounts used." in body and "data-error-message" in body
    assert '<a href="/account#plan" data-error-link>' in body
