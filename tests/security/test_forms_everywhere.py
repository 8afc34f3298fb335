"""B5: every form route goes through app.htmx.submit_form -- valid input keeps its redirect,
invalid input is a 422 with the field's message, a plan limit is the error handler's 403 with
the usage and a link to the plans (/account#plan)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AlertRule, AlertTemplate

PLANS_LINK = 'href="/account#plan"'


def _token(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def _body(r) -> str:
    return r.get_data(as_text=True)


# --------------------------------------------------------------------------- alerts
def _alert(**kw) -> dict:
    data = {"scope_kind": "symbol", "symbol": "AAPL", "kind": "price_above", "value": "190",
            "trigger_mode": "cooldown", "cooldown_minutes": "60"}
    data.update(kw)
    return data


@pytest.fixture()
def alerts_user(client, login, trader, market):
    login(trader)
    market.add("AAPL", 180.0, prev=179.0)
    return _token(client, "/alerts/new")


def _rule(user, **kw):
    from app.alerts import services
    from app.alerts.services import RuleInput

    return services.create_rule(user, RuleInput(symbol="AAPL", conditions=[{"kind": "price_above", "value": 1}], **kw))


def test_alert_create_valid_redirects_invalid_is_422(client, alerts_user):
    r = client.post("/alerts", data=_alert(csrf_token=alerts_user))
    assert (r.status_code, r.headers["Location"]) == (303, "/alerts")
    r = client.post("/alerts", data=_alert(csrf_token=alerts_user, value="abc"))
    assert r.status_code == 422 and "Price must be a number." in _body(r)


@pytest.mark.parametrize("htmx", [False, True])
def test_alert_create_plan_limit_is_403_with_usage_and_plans_link(client, hx, alerts_user, htmx):
    for _ in range(3):
        assert client.post("/alerts", data=_alert(csrf_token=alerts_user)).status_code == 303
    r = (hx if htmx else client).post("/alerts", data=_alert(csrf_token=alerts_user))
    assert r.status_code == 403
    body = _body(r)
    assert "Free plan: 3 of 3 active alerts used" in body and "Your Free plan allows 3 active alerts" in body
    assert PLANS_LINK in body
    assert db.session.scalar(select(func.count()).select_from(AlertRule)) == 3


def test_alert_update_valid_redirects_invalid_is_422(client, alerts_user, trader):
    rule = _rule(trader)
    r = client.post(f"/alerts/{rule.id}", data=_alert(csrf_token=alerts_user, name="Renamed"))
    assert (r.status_code, r.headers["Location"]) == (303, "/alerts")
    r = client.post(f"/alerts/{rule.id}", data=_alert(csrf_token=alerts_user, symbol=""))
    assert r.status_code == 422 and "Enter a symbol." in _body(r)


def test_alert_update_to_a_pro_only_scope_is_the_handlers_403(client, alerts_user, trader):
    rule = _rule(trader)
    r = client.post(f"/alerts/{rule.id}", data=_alert(csrf_token=alerts_user, scope_kind="universe"))
    assert r.status_code == 403
    assert "Whole-market alerts are part of the Pro plan" in _body(r) and PLANS_LINK in _body(r)


def test_save_template_valid_redirects_too_long_is_422_with_the_message(client, alerts_user, trader):
    rule = _rule(trader)
    r = client.post(f"/alerts/{rule.id}/template", data={"csrf_token": alerts_user, "name": "Dip"})
    assert (r.status_code, r.headers["Location"]) == (303, "/alerts/templates")
    r = client.post(f"/alerts/{rule.id}/template", data={"csrf_token": alerts_user, "name": "x" * 81})
    assert r.status_code == 422
    body = _body(r)
    assert "The template name is too long (80 characters at most)." in body
    assert f'id="tpl-{rule.id}"' in body and 'value="' + "x" * 81 + '"' in body
    assert db.session.scalar(select(func.count()).select_from(AlertTemplate)) == 1


def test_save_template_of_someone_elses_rule_is_404(client, alerts_user, factories):
    rule = _rule(factories.user("other@example.com"))
    r = client.post(f"/alerts/{rule.id}/template", data={"csrf_token": alerts_user, "name": "Mine now"})
    assert r.status_code == 404


def test_apply_template_valid_redirects_refusal_is_422_with_the_message(client, alerts_user, trader, market):
    from app.alerts import services

    market.add("MSFT", 100)
    t = services.save_template(trader, _rule(trader).id, "Dip")
    r = client.post(f"/alerts/templates/{t.id}/apply", data={"csrf_token": alerts_user, "scope_kind": "symbol",
                                                             "symbols": "MSFT"})
    assert (r.status_code, r.headers["Location"]) == (303, "/alerts")
    r = client.post(f"/alerts/templates/{t.id}/apply", data={"csrf_token": alerts_user, "scope_kind": "symbol",
                                                             "symbols": "ZZZZ"})
    assert r.status_code == 422 and "Unknown symbol: ZZZZ." in _body(r)
    r = client.post(f"/alerts/templates/{t.id}/apply", data={"csrf_token": alerts_user, "scope_kind": "symbol",
                                                             "symbols": "A" * 601})
    assert r.status_code == 422 and "Check the symbols (600 characters at most)." in _body(r)


def test_apply_template_over_the_active_limit_is_403_with_usage(client, alerts_user, trader, market):
    from app.alerts import services

    for sym in ("MSFT", "NVDA", "TSLA"):
        market.add(sym, 100)
    t = services.save_template(trader, _rule(trader).id, "Dip")
    r = client.post(f"/alerts/templates/{t.id}/apply", data={"csrf_token": alerts_user, "scope_kind": "symbol",
                                                             "symbols": "MSFT NVDA TSLA"})
    assert r.status_code == 403
    assert "Free plan: 1 of 3 active alerts used" in _body(r) and PLANS_LINK in _body(r)


def test_settings_forms_keep_their_answers(client, alerts_user):
    r = client.post("/alerts/settings", data={"csrf_token": alerts_user, "email_on": "y"})
    assert (r.status_code, r.headers["Location"]) == (303, "/alerts/settings")
    r = client.post("/alerts/settings", data={"csrf_token": alerts_user, "quiet_start": "25:00"})
    assert r.status_code == 422 and "Use a time like 22:00." in _body(r)
    r = client.post("/alerts/settings/webhook", data={"csrf_token": alerts_user, "webhook_url": "https://example.com/h"})
    assert r.status_code == 403 and "Webhook alerts are not included" in _body(r) and PLANS_LINK in _body(r)
    r = client.post("/alerts/settings/phone", data={"csrf_token": alerts_user, "phone": "+15551234567"})
    assert r.status_code == 403 and "SMS alerts are not included" in _body(r) and PLANS_LINK in _body(r)


def test_phone_code_throttle_is_429_with_retry_after(client, login, basic, textbelt):
    login(basic)
    tok = _token(client, "/alerts/settings")
    r = client.post("/alerts/settings/phone", data={"csrf_token": tok, "phone": "12"})
    assert r.status_code == 422 and "international form" in _body(r)
    for _ in range(3):
        client.post("/alerts/settings/phone", data={"csrf_token": tok, "phone": "+15551234567"})
    r = client.post("/alerts/settings/phone", data={"csrf_token": tok, "phone": "+15551234567"})
    assert r.status_code == 429 and "Too many codes" in _body(r) and int(r.headers["Retry-After"]) > 0


# --------------------------------------------------------------------------- paper
@pytest.fixture()
def paper_setup(client, login, trader, account, market):
    login(trader)
    market.add("AAPL", 100.0)
    return account, _token(client, f"/paper/{account.id}")


def _order(tok, **kw) -> dict:
    data = {"csrf_token": tok, "symbol": "AAPL", "side": "buy", "qty": "10", "type": "market", "tif": "day",
            "idempotency_key": "k1"}
    data.update(kw)
    return data


def test_order_ticket_valid_redirects_refused_is_422_on_the_whole_page(client, paper_setup):
    account, tok = paper_setup
    r = client.post(f"/paper/{account.id}/orders", data=_order(tok))
    assert (r.status_code, r.headers["Location"]) == (303, f"/paper/{account.id}")
    # the same ticket again (a Conflict) is shown in the form like any refusal: 422, not 409
    r = client.post(f"/paper/{account.id}/orders", data=_order(tok))
    assert r.status_code == 422 and "already submitted" in _body(r) and 'id="paper-live"' in _body(r)
    r = client.post(f"/paper/{account.id}/orders", data=_order(tok, qty="abc", idempotency_key="k2"))
    assert r.status_code == 422 and "<html" in _body(r)


def test_order_ticket_refused_over_htmx_swaps_only_the_ticket(hx, paper_setup):
    account, tok = paper_setup
    r = hx.post(f"/paper/{account.id}/orders", data=_order(tok, symbol="ZZZZ"))
    assert r.status_code == 422 and "<html" not in _body(r) and 'name="idempotency_key"' in _body(r)


def test_reset_confirm_mismatch_is_422_on_the_confirm_field(client, paper_setup):
    account, tok = paper_setup
    r = client.post(f"/paper/{account.id}/reset", data={"csrf_token": tok, "confirm": "wrong"})
    assert r.status_code == 422 and f"Type “{account.name}” exactly to confirm." in _body(r)
    r = client.post(f"/paper/{account.id}/reset", data={"csrf_token": tok, "confirm": account.name,
                                                        "starting_balance": "abc"})
    assert r.status_code == 422
    r = client.post(f"/paper/{account.id}/reset", data={"csrf_token": tok, "confirm": account.name})
    assert (r.status_code, r.headers["Location"]) == (303, f"/paper/{account.id}")


# --------------------------------------------------------------------------- strategies
def test_backtest_valid_redirects_invalid_is_422_with_the_field_message(client, hx, login, owner, strategy):
    login(owner)
    tok = _token(client, f"/strategies/{strategy.id}")
    r = client.post(f"/strategies/{strategy.id}/backtests", data={"csrf_token": tok, "capital": "10"})
    assert r.status_code == 422 and "Starting capital must be between $1,000 and $100,000,000." in _body(r)
    assert "<html" in _body(r)
    r = hx.post(f"/strategies/{strategy.id}/backtests", data={"csrf_token": tok, "capital": "10"})
    assert r.status_code == 422 and "Starting capital must be between" in _body(r) and "<html" not in _body(r)
    r = client.post(f"/strategies/{strategy.id}/backtests", data={"csrf_token": tok, "capital": "100000"})
    assert r.status_code == 303 and re.fullmatch(r"/strategies/backtests/\d+", r.headers["Location"])


@pytest.mark.parametrize("htmx", [False, True])
def test_backtest_plan_limit_is_403_with_usage_and_plans_link(client, hx, login, owner, strategy, htmx):
    from app.strategies import services

    for _ in range(2):
        services.start_backtest(owner, strategy.id)
    login(owner)
    tok = _token(client, f"/strategies/{strategy.id}")
    r = (hx if htmx else client).post(f"/strategies/{strategy.id}/backtests",
                                      data={"csrf_token": tok, "capital": "100000"})
    assert r.status_code == 403
    assert "Free plan: 2 of 2 backtests this month used" in _body(r) and PLANS_LINK in _body(r)


def test_rate_valid_redirects_invalid_is_422(client, hx, login, other, strategy):
    login(other)
    tok = _token(client, f"/strategies/{strategy.id}")
    r = client.post(f"/strategies/{strategy.id}/rate", data={"csrf_token": tok, "stars": "9"})
    assert r.status_code == 422 and "Not a valid choice" in _body(r) and "<html" in _body(r)
    r = client.post(f"/strategies/{strategy.id}/rate", data={"csrf_token": tok, "stars": "4"})
    assert (r.status_code, r.headers["Location"]) == (303, f"/strategies/{strategy.id}")
    r = hx.post(f"/strategies/{strategy.id}/rate", data={"csrf_token": tok, "stars": "5"})
    assert r.status_code == 200 and "strategy-rated" in r.headers["HX-Trigger"]


def test_rating_your_own_strategy_is_422_in_the_ratings_fragment(hx, client, login, owner, strategy):
    login(owner)
    tok = _token(client, f"/strategies/{strategy.id}")
    r = hx.post(f"/strategies/{strategy.id}/rate", data={"csrf_token": tok, "stars": "5"})
    assert r.status_code == 422 and "own strategy" in _body(r) and "<html" not in _body(r)


# --------------------------------------------------------------------------- watchlists
@pytest.fixture()
def wl_user(client, login, trader, market):
    login(trader)
    market.add("AAPL", 180.0)
    market.add("MSFT", 400.0)
    return _token(client, "/watchlists?all=1")


def _watchlist(user, name="Tech"):
    from app.watchlists import services

    return services.create_watchlist(user, name)


def test_watchlists_page_with_an_unsent_form_is_200(client, login, trader):
    login(trader)  # the fresh form's field errors are a tuple, its form errors a list
    r = client.get("/watchlists?all=1")
    assert r.status_code == 200 and 'id="wl-name"' in _body(r) and "form-error" not in _body(r)


def test_watchlist_create_valid_redirects_invalid_is_422_with_the_message(client, wl_user):
    from app.models import Watchlist

    r = client.post("/watchlists", data={"csrf_token": wl_user, "name": "   "})
    assert r.status_code == 422 and "Give the list a name of 1 to" in _body(r)
    r = client.post("/watchlists", data={"csrf_token": wl_user, "name": "Tech"})
    wl = db.session.scalar(select(Watchlist))
    assert (r.status_code, r.headers["Location"]) == (303, f"/watchlists/{wl.id}")


@pytest.mark.parametrize("htmx", [False, True])
def test_watchlist_create_plan_limit_is_403_with_usage_and_plans_link(client, hx, wl_user, trader, htmx):
    from app.models import Watchlist

    _watchlist(trader, "One")
    r = (hx if htmx else client).post("/watchlists", data={"csrf_token": wl_user, "name": "Two",
                                                           "next": "/watchlists/1"})
    assert r.status_code == 403
    body = _body(r)
    assert "Free plan: 1 of 1 watchlists used" in body and "Your Free plan allows 1 watchlist." in body
    assert PLANS_LINK in body
    assert db.session.scalar(select(func.count()).select_from(Watchlist)) == 1


def test_watchlist_rename_valid_redirects_duplicate_is_422(client, wl_user, trader, monkeypatch):
    import dataclasses

    from app.billing.plans import PLANS

    monkeypatch.setattr("app.watchlists.services.plan_for", lambda user: dataclasses.replace(PLANS["free"],
                                                                                             watchlists=5))
    wl, _other = _watchlist(trader, "Tech"), _watchlist(trader, "Swing")
    r = client.post(f"/watchlists/{wl.id}/rename", data={"csrf_token": wl_user, "name": "Swing"})
    assert r.status_code == 422 and "You already have a list with this name." in _body(r)
    r = client.post(f"/watchlists/{wl.id}/rename", data={"csrf_token": wl_user, "name": "Growth"})
    assert (r.status_code, r.headers["Location"]) == (303, f"/watchlists/{wl.id}")


def test_watchlist_add_valid_redirects_unknown_or_bad_price_is_422(client, wl_user, trader):
    wl = _watchlist(trader)
    r = client.post(f"/watchlists/{wl.id}/items", data={"csrf_token": wl_user, "symbol": "ZZZZ"})
    assert r.status_code == 422 and "Unknown symbol “ZZZZ”." in _body(r) and 'value="ZZZZ"' in _body(r)
    r = client.post(f"/watchlists/{wl.id}/items", data={"csrf_token": wl_user, "symbol": "AAPL",
                                                       "target_price": "abc"})
    assert r.status_code == 422 and "Target must be a number." in _body(r)
    r = client.post(f"/watchlists/{wl.id}/items", data={"csrf_token": wl_user, "symbols": "AAPL MSFT"})
    assert (r.status_code, r.headers["Location"]) == (303, f"/watchlists/{wl.id}")


def test_watchlist_csv_without_symbols_is_422_on_the_file_field(client, wl_user, trader):
    import io

    wl = _watchlist(trader)
    r = client.post(f"/watchlists/{wl.id}/items", data={"csrf_token": wl_user, "csv": (io.BytesIO(b""), "x.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "No symbols found in the file" in _body(r)
    r = client.post(f"/watchlists/{wl.id}/items", data={"csrf_token": wl_user,
                                                       "csv": (io.BytesIO(b"symbol\nAAPL\n"), "x.csv")},
                    content_type="multipart/form-data")
    assert (r.status_code, r.headers["Location"]) == (303, f"/watchlists/{wl.id}")


def test_watchlist_full_list_is_403_with_usage_and_plans_link(client, wl_user, trader, monkeypatch):
    import dataclasses

    from app.billing.plans import PLANS

    monkeypatch.setattr("app.watchlists.services.plan_for", lambda user: dataclasses.replace(PLANS["free"],
                                                                                             watchlist_items=1))
    wl = _watchlist(trader)
    assert client.post(f"/watchlists/{wl.id}/items", data={"csrf_token": wl_user, "symbol": "AAPL"}).status_code == 303
    r = client.post(f"/watchlists/{wl.id}/items", data={"csrf_token": wl_user, "symbol": "MSFT"})
    assert r.status_code == 403
    assert "Free plan: 1 of 1 symbols in “Tech” used" in _body(r) and PLANS_LINK in _body(r)


def test_watchlist_item_update_and_move(client, wl_user, trader, monkeypatch):
    import dataclasses

    from app.billing.plans import PLANS
    from app.watchlists import services

    monkeypatch.setattr("app.watchlists.services.plan_for", lambda user: dataclasses.replace(PLANS["free"],
                                                                                             watchlists=5))
    wl, other = _watchlist(trader, "Tech"), _watchlist(trader, "Swing")
    services.add_symbols(trader, wl.id, ["AAPL"])
    services.add_symbols(trader, other.id, ["AAPL"])
    item = services.item_views(wl, "added", "asc")[0]["item"]
    r = client.post(f"/watchlists/items/{item.id}", data={"csrf_token": wl_user, "stop_price": "-3"})
    assert r.status_code == 422 and "Stop must be a positive price." in _body(r)
    r = client.post(f"/watchlists/items/{item.id}", data={"csrf_token": wl_user, "note": "earnings"})
    assert (r.status_code, r.headers["Location"]) == (303, f"/watchlists/{wl.id}")
    r = client.post(f"/watchlists/items/{item.id}/move", data={"csrf_token": wl_user, "to": str(other.id)})
    assert r.status_code == 422 and "AAPL is already in “Swing”." in _body(r)
    third = _watchlist(trader, "Third")
    r = client.post(f"/watchlists/items/{item.id}/move", data={"csrf_token": wl_user, "to": str(third.id)})
    assert (r.status_code, r.headers["Location"]) == (303, f"/watchlists/{wl.id}")


# --------------------------------------------------------------------------- screener
def _screen(user, name):
    from werkzeug.datastructures import MultiDict

    from app.screener import services
    from app.screener.definition import ScreenDefinition

    return services.save_screen(user, name, ScreenDefinition.parse(MultiDict([("f", "rsi:lt:30")])))


def test_screen_rename_valid_redirects_duplicate_is_422_on_that_row(client, login, trader, monkeypatch):
    import dataclasses

    from app.billing.plans import PLANS

    monkeypatch.setattr("app.screener.services.plan_for", lambda user: dataclasses.replace(PLANS["free"],
                                                                                           saved_screens=5))
    login(trader)
    tok = _token(client, "/screener/screens")
    one, _two = _screen(trader, "Oversold"), _screen(trader, "Momentum")
    r = client.post(f"/screener/screens/{one.id}/rename", data={"csrf_token": tok, "name": "Momentum"})
    assert r.status_code == 422 and "You already have a screen with this name." in _body(r)
    assert f'id="rename-{one.id}"' in _body(r)
    r = client.post(f"/screener/screens/{one.id}/rename", data={"csrf_token": tok, "name": "Dips"})
    assert (r.status_code, r.headers["Location"]) == (303, "/screener/screens")


def test_screen_rename_of_someone_elses_screen_is_404(client, login, trader, factories):
    screen = _screen(factories.user("other@example.com"), "Theirs")
    login(trader)
    tok = _token(client, "/screener/screens")
    r = client.post(f"/screener/screens/{screen.id}/rename", data={"csrf_token": tok, "name": "Mine"})
    assert r.status_code == 404


def test_screen_save_valid_redirects_refused_is_422_in_the_slot_or_a_page(client, hx, login, trader):
    from app.models import SavedScreen

    login(trader)
    tok = _token(client, "/screener")
    r = hx.post("/screener/screens", data={"csrf_token": tok, "name": "", "qs": "f=rsi:lt:30"})
    assert r.status_code == 422 and "<html" not in _body(r)
    assert "Give the screen a name of 1 to" in _body(r) and 'class="form-error"' in _body(r)
    r = client.post("/screener/screens", data={"csrf_token": tok, "name": "Empty", "qs": ""})
    assert r.status_code == 422 and "Add at least one filter or a formula before saving." in _body(r)
    assert 'href="/screener" data-error-link>Back to the screener' in _body(r)
    r = client.post("/screener/screens", data={"csrf_token": tok, "name": "Oversold", "qs": "f=rsi:lt:30"})
    screen = db.session.scalar(select(SavedScreen))
    assert (r.status_code, r.headers["Location"]) == (303, f"/screener/screens/{screen.id}")


@pytest.mark.parametrize("htmx", [False, True])
def test_screen_save_plan_limit_is_403_with_usage_and_plans_link(client, hx, login, trader, htmx):
    login(trader)
    tok = _token(client, "/screener")
    _screen(trader, "One")
    r = (hx if htmx else client).post("/screener/screens", data={"csrf_token": tok, "name": "Two",
                                                                 "qs": "f=rsi:gt:70"})
    assert r.status_code == 403
    assert "Free plan: 1 of 1 saved screens used" in _body(r) and PLANS_LINK in _body(r)


def test_screen_update_valid_redirects_refused_is_422(client, hx, login, trader):
    login(trader)
    tok = _token(client, "/screener")
    screen = _screen(trader, "Oversold")
    r = client.post(f"/screener/screens/{screen.id}/update", data={"csrf_token": tok, "qs": "f=price:gt:abc"})
    assert r.status_code == 422 and "Fix the screen first" in _body(r) and "Back to the screener" in _body(r)
    r = hx.post(f"/screener/screens/{screen.id}/update", data={"csrf_token": tok, "qs": ""})
    assert r.status_code == 422 and "Add at least one filter or a formula before saving." in _body(r)
    assert "<html" not in _body(r)
    r = client.post(f"/screener/screens/{screen.id}/update", data={"csrf_token": tok, "qs": "f=rsi:lt:20"})
    assert (r.status_code, r.headers["Location"]) == (303, f"/screener/screens/{screen.id}")


# --------------------------------------------------------------------------- the helper's options
def _helper_call(app, call, *, data, htmx=False, **options):
    from flask import make_response
    from flask_wtf import FlaskForm
    from wtforms import StringField

    from app.htmx import submit_form

    class NameForm(FlaskForm):
        class Meta:
            csrf = False

        display_name = StringField("Name")

    headers = {"HX-Request": "true"} if htmx else {}
    with app.test_request_context("/account/profile", method="POST", data=data, headers=headers):
        form = NameForm()
        response = submit_form(form, call, lambda result: make_response("done", 303),
                               page="accounts/profile.html", partial="accounts/_profile_form.html", **options)
        return response, form


def test_context_fn_runs_only_when_the_form_is_rerendered(app, db):
    from app.errors import InvalidInput

    built = []

    def context():
        built.append(1)
        return {}

    r, _ = _helper_call(app, lambda: None, data={"display_name": "Ada"}, context_fn=context)
    assert (r.status_code, built) == (303, [])

    def refuse():
        raise InvalidInput("Taken.", field="display_name")

    r, form = _helper_call(app, refuse, data={"display_name": "Ada"}, htmx=True, context_fn=context)
    assert (r.status_code, built, form.display_name.errors) == (422, [1], ["Taken."])


def test_form_name_and_conflict_status(app, db, monkeypatch):
    import importlib

    from app.errors import Conflict

    htmx = importlib.import_module("app.htmx")  # the module (the package's `htmx` is the extension)

    seen = {}
    real = htmx.render_view

    def spy(page, partial=None, *, status=200, **context):
        seen.update(context)
        return real(page, partial, status=status, **{**context, "form": context["profile_form"]})

    monkeypatch.setattr(htmx, "render_view", spy)

    def clash():
        raise Conflict("Changed meanwhile.")

    r, form = _helper_call(app, clash, data={"display_name": "Ada"}, htmx=True, form_name="profile_form",
                           conflict_status=422)
    assert r.status_code == 422 and seen["profile_form"] is form and "form" not in seen
    assert form.form_errors == ["Changed meanwhile."]


# ------------------------------------------------------- button actions that hit a plan limit
def test_alert_resume_over_the_limit_is_403_with_usage_and_plans_link(client, alerts_user, trader):
    paused = _rule(trader)
    from app.alerts import services

    services.set_paused(trader, paused.id, True)
    for _ in range(3):
        _rule(trader)
    r = client.post(f"/alerts/{paused.id}/resume", data={"csrf_token": alerts_user})
    assert r.status_code == 403
    assert "Free plan: 3 of 3 active alerts used" in _body(r) and PLANS_LINK in _body(r)
    assert db.session.get(AlertRule, paused.id).status == "paused"


def test_screen_clone_over_the_limit_is_403_with_usage_and_plans_link(client, login, trader, other):
    from app.models import SavedScreen
    from app.screener import services

    public = _screen(other, "Oversold")
    services.update_screen(other, public.id, is_public=True)
    _screen(trader, "Mine")
    login(trader)
    r = client.post(f"/screener/screens/{public.id}/clone", data={"csrf_token": _token(client, "/screener/screens")})
    assert r.status_code == 403
    assert "Free plan: 1 of 1 saved screens used" in _body(r) and PLANS_LINK in _body(r)
    assert db.session.scalar(select(func.count()).select_from(SavedScreen)) == 2


def test_quick_watch_over_the_limit_says_usage_and_links_to_the_plans(hx, wl_user, trader, monkeypatch):
    import dataclasses

    from app.billing.plans import PLANS
    from app.watchlists import services

    monkeypatch.setattr("app.watchlists.services.plan_for", lambda user: dataclasses.replace(PLANS["free"],
                                                                                             watchlist_items=1))
    wl = _watchlist(trader, "Tech")
    services.add_symbols(trader, wl.id, ["AAPL"])
    r = hx.post("/watchlists/add", data={"csrf_token": wl_user, "symbol": "MSFT", "watchlist_id": wl.id})
    assert r.status_code == 200
    body = _body(r)
    assert "(Free plan: 1 of 1 symbols in “Tech” used)" in body and PLANS_LINK in body
