"""The /alerts pages: login, CSRF, owner scoping (404), validation (422, never 500), plan
limits with clear messages, pre-fill from ?symbol=, triggered list filters and
acknowledgement, the bell fragment with its ETag/304, and the settings page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.alerts import services
from app.alerts.services import RuleInput
from app.extensions import db
from app.models import AlertEvent, AlertRule, AlertTemplate

GETS = ("/alerts", "/alerts/new", "/alerts/1/edit", "/alerts/templates", "/alerts/triggered", "/alerts/bell",
        "/alerts/settings")
POSTS = ("/alerts", "/alerts/1", "/alerts/1/pause", "/alerts/1/resume", "/alerts/1/delete", "/alerts/1/template",
         "/alerts/templates/1/apply", "/alerts/templates/1/delete", "/alerts/triggered/1/ack",
         "/alerts/triggered/ack-all", "/alerts/settings", "/alerts/settings/phone", "/alerts/settings/phone/verify",
         "/alerts/settings/phone/delete", "/alerts/settings/webhook", "/alerts/settings/webhook/rotate")


def token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def form(**kw):
    data = {"scope_kind": "symbol", "symbol": "AAPL", "kind": "crosses_above", "value": "190", "trigger_mode": "cooldown",
            "cooldown_minutes": "60", "message": "", "name": "", "formula": "", "kind2": "", "value2": "",
            "formula2": ""}
    data.update(kw)
    return data


@pytest.fixture()
def signed_in(client, login, trader, market):
    login(trader)
    market.add("AAPL", 180.0, prev=179.0)
    return token(client.get("/alerts/new").get_data(as_text=True))


def test_login_required_everywhere(client, db):
    for url in GETS:
        r = client.get(url)
        assert r.status_code in (302, 303) and "/login" in r.headers["Location"], url
    for url in POSTS:
        assert client.post(url).status_code in (302, 303, 400), url


def test_csrf_required(client, signed_in):
    r = client.post("/alerts", data=form())
    assert r.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(AlertRule)) == 0


def test_create_from_stock_page_prefill(client, signed_in, trader):
    stock_page = client.get("/stocks/AAPL").get_data(as_text=True)
    assert 'href="/alerts/new?symbol=AAPL"' in stock_page
    page = client.get("/alerts/new?symbol=aapl").get_data(as_text=True)
    assert re.search(r'name="symbol"[^>]*value="AAPL"', page)
    r = client.post("/alerts", data=form(csrf_token=signed_in, notify_email="y"))
    assert r.status_code == 303
    rule = db.session.scalar(select(AlertRule))
    assert (rule.owner_id, rule.stock.symbol, rule.conditions, rule.notify_email) == (
        trader.id, "AAPL", [{"kind": "crosses_above", "value": 190.0}], True)
    listing = client.get("/alerts").get_data(as_text=True)
    assert "price crosses above 190.00" in listing and "Email" in listing and "Active" in listing


@pytest.mark.parametrize("data,message", [
    ({"symbol": ""}, "Enter a symbol."),
    ({"symbol": "NOPE"}, "Unknown symbol NOPE."),
    ({"value": "abc"}, "Price must be a number."),
    ({"value": "nan"}, "Price must be a number."),
    ({"value": "-5"}, "Price must be at least"),
    ({"kind": "bogus"}, "Not a valid choice"),
    ({"kind": "formula", "formula": "close >"}, "Formula:"),
    ({"kind": "formula", "formula": "sma(market_cap, 50) > 1"}, "has no daily history"),
    ({"cooldown_minutes": "0"}, "Cooldown must be at least 1"),
    ({"cooldown_minutes": "x" * 6}, "Cooldown must be a number"),
    ({"expires_on": "2001-01-01"}, "must be in the future"),
    ({"expires_on": "not-a-date"}, "Not a valid date"),
    ({"scope_kind": "watchlist"}, "Choose a watchlist."),
    ({"scope_kind": "watchlist", "watchlist_id": "999"}, "Choose one of your watchlists."),
    ({"scope_kind": "screen", "screen_id": "x"}, "Choose a saved screen."),
    ({"kind": "screen_enter"}, "needs a saved screen"),
    ({"symbol": "A" * 40}, "Field cannot be longer"),
])
def test_bad_input_is_422_with_a_message(client, signed_in, data, message):
    r = client.post("/alerts", data=form(csrf_token=signed_in, **data))
    assert r.status_code == 422, r.status_code
    assert message in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AlertRule)) == 0


def test_htmx_form_errors_swap_the_partial(hx, signed_in):
    r = hx.post("/alerts", data=form(csrf_token=signed_in, value="abc"))
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert body.lstrip().startswith("<form") and "Price must be a number." in body


def test_plan_limits_have_clear_messages(client, signed_in, trader, market):
    r = client.post("/alerts", data=form(csrf_token=signed_in, scope_kind="universe"))
    assert r.status_code == 403 and "Whole-market alerts are part of the Pro plan" in r.get_data(as_text=True)
    r = client.post("/alerts", data=form(csrf_token=signed_in, notify_sms="y"))
    assert r.status_code == 403 and "SMS alerts are not included in the Free plan" in r.get_data(as_text=True)
    for _ in range(3):
        assert client.post("/alerts", data=form(csrf_token=signed_in)).status_code == 303
    r = client.post("/alerts", data=form(csrf_token=signed_in))
    assert r.status_code == 403
    assert "Your Free plan allows 3 active alerts" in r.get_data(as_text=True)
    # pausing frees a slot; resuming over the limit is refused with the message
    first = db.session.scalars(select(AlertRule).order_by(AlertRule.id)).first()
    client.post(f"/alerts/{first.id}/pause", data={"csrf_token": signed_in})
    assert client.post("/alerts", data=form(csrf_token=signed_in)).status_code == 303
    r = client.post(f"/alerts/{first.id}/resume", data={"csrf_token": signed_in}, follow_redirects=True)
    assert "Your Free plan allows 3 active alerts" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(AlertRule, first.id).status == "paused"


def test_edit_pause_resume_delete(client, signed_in, trader):
    rule = services.create_rule(trader, RuleInput(symbol="AAPL", conditions=[{"kind": "price_above", "value": 1}]))
    page = client.get(f"/alerts/{rule.id}/edit").get_data(as_text=True)
    assert re.search(r'name="value"[^>]*value="1"', page)
    r = client.post(f"/alerts/{rule.id}", data=form(csrf_token=signed_in, kind="price_below", value="150",
                                                    name="Dip buy"))
    assert r.status_code == 303
    db.session.expire_all()
    rule = db.session.get(AlertRule, rule.id)
    assert (rule.name, rule.conditions) == ("Dip buy", [{"kind": "price_below", "value": 150.0}])
    client.post(f"/alerts/{rule.id}/pause", data={"csrf_token": signed_in})
    db.session.expire_all()
    assert db.session.get(AlertRule, rule.id).status == "paused"
    client.post(f"/alerts/{rule.id}/resume", data={"csrf_token": signed_in})
    db.session.expire_all()
    assert db.session.get(AlertRule, rule.id).status == "active"
    rule_id = rule.id
    client.post(f"/alerts/{rule_id}/delete", data={"csrf_token": signed_in})
    db.session.expire_all()
    assert db.session.get(AlertRule, rule_id) is None


def test_templates_pages(client, signed_in, trader, market):
    market.add("MSFT", 100)
    rule = services.create_rule(trader, RuleInput(symbol="AAPL", conditions=[{"kind": "volume_spike", "value": 3}]))
    r = client.post(f"/alerts/{rule.id}/template", data={"csrf_token": signed_in, "name": "Unusual volume"})
    assert r.status_code == 303
    t = db.session.scalar(select(AlertTemplate))
    assert "Unusual volume" in client.get("/alerts/templates").get_data(as_text=True)
    r = client.post(f"/alerts/templates/{t.id}/apply", data={"csrf_token": signed_in, "scope_kind": "symbol",
                                                            "symbols": "MSFT"})
    assert r.status_code == 303
    syms = sorted(r.stock.symbol for r in db.session.scalars(select(AlertRule)))
    assert syms == ["AAPL", "MSFT"]
    r = client.post(f"/alerts/templates/{t.id}/apply", data={"csrf_token": signed_in, "symbols": "A B C D"},
                    follow_redirects=True)
    assert "Unknown symbols: A, B, C, D." in r.get_data(as_text=True) or "plan allows" in r.get_data(as_text=True)


def test_others_rows_are_404(client, login, trader, factories, market):
    market.add("AAPL", 200)
    rule = services.create_rule(trader, RuleInput(symbol="AAPL", conditions=[{"kind": "price_above", "value": 1}]))
    t = services.save_template(trader, rule.id, "Mine")
    services.evaluate_cycle()
    ev = db.session.scalar(select(AlertEvent))
    other = factories.user()
    login(other)
    tok = token(client.get("/alerts/new").get_data(as_text=True))
    assert client.get(f"/alerts/{rule.id}/edit").status_code == 404
    for url in (f"/alerts/{rule.id}", f"/alerts/{rule.id}/pause", f"/alerts/{rule.id}/resume",
                f"/alerts/{rule.id}/delete", f"/alerts/{rule.id}/template", f"/alerts/templates/{t.id}/apply",
                f"/alerts/templates/{t.id}/delete", f"/alerts/triggered/{ev.id}/ack"):
        assert client.post(url, data={**form(), "csrf_token": tok, "symbols": "AAPL"}).status_code == 404, url
    db.session.expire_all()
    assert db.session.get(AlertEvent, ev.id).acknowledged_at is None
    assert db.session.get(AlertRule, rule.id).status == "active"
    client.post("/alerts/triggered/ack-all", data={"csrf_token": tok})
    db.session.expire_all()
    assert db.session.get(AlertEvent, ev.id).acknowledged_at is None  # only one's own
    page = client.get("/alerts/triggered").get_data(as_text=True)
    assert "AAPL" not in page
    assert "0 triggered alerts" in page


def test_triggered_filters_and_acknowledge(client, hx, signed_in, trader, market):
    market.add("MSFT", 300)
    r1 = services.create_rule(trader, RuleInput(symbol="AAPL", conditions=[{"kind": "price_above", "value": 1}]))
    services.create_rule(trader, RuleInput(symbol="MSFT", conditions=[{"kind": "price_above", "value": 1}]))
    services.evaluate_cycle()
    page = client.get("/alerts/triggered").get_data(as_text=True)
    assert "2 triggered alerts" in page and "AAPL 180.00 is above 1.00" in page
    assert "1 triggered alert<" in client.get("/alerts/triggered?symbol=msft").get_data(as_text=True)
    assert "1 triggered alert<" in client.get(f"/alerts/triggered?rule={r1.id}").get_data(as_text=True)
    assert "0 triggered alerts" in client.get("/alerts/triggered?from=2999-01-01").get_data(as_text=True)
    assert "2 triggered alerts" in client.get("/alerts/triggered?from=bad&to=&state=nonsense&page=x").get_data(
        as_text=True)
    ev = db.session.scalar(select(AlertEvent).where(AlertEvent.symbol == "AAPL"))
    r = hx.post(f"/alerts/triggered/{ev.id}/ack", data={"csrf_token": signed_in})
    assert r.status_code == 200 and f'id="event-{ev.id}"' in r.get_data(as_text=True) and "Read" in r.get_data(
        as_text=True)
    assert "1 triggered alert<" in client.get("/alerts/triggered?state=unread").get_data(as_text=True)
    client.post("/alerts/triggered/ack-all", data={"csrf_token": signed_in})
    assert services.unread_count(trader) == 0


def test_bell_fragment_etag_and_304(client, signed_in, trader):
    services.create_rule(trader, RuleInput(symbol="AAPL", conditions=[{"kind": "price_above", "value": 1}]))
    r = client.get("/alerts/bell")
    assert r.status_code == 200 and "No alerts have fired yet." in r.get_data(as_text=True)
    etag = r.headers["ETag"]
    assert r.headers["Cache-Control"] == "private, no-cache"
    r = client.get("/alerts/bell", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.get_data() == b""
    services.evaluate_cycle()
    r = client.get("/alerts/bell", headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["ETag"] != etag
    body = r.get_data(as_text=True)
    assert 'data-unread="1"' in body and "AAPL" in body
    etag2 = r.headers["ETag"]
    ev = db.session.scalar(select(AlertEvent))
    client.post(f"/alerts/triggered/{ev.id}/ack", data={"csrf_token": signed_in})
    r = client.get("/alerts/bell", headers={"If-None-Match": etag2})
    assert r.status_code == 200 and 'data-unread="0"' in r.get_data(as_text=True)


def test_bell_is_on_every_page(client, signed_in):
    for url in ("/home", "/alerts", "/stocks/AAPL"):
        assert 'hx-get="/alerts/bell"' in client.get(url).get_data(as_text=True), url


def test_settings_page(client, signed_in, trader):
    assert "Notification settings" in client.get("/alerts/settings").get_data(as_text=True)
    r = client.post("/alerts/settings", data={"csrf_token": signed_in, "email_on": "y", "quiet_start": "22:00",
                                              "quiet_end": "07:00"})
    assert r.status_code == 303
    s = services.get_settings(trader)
    assert (s.email_on, s.sms_on, s.quiet_start, s.quiet_end) == (True, False, 22 * 60, 7 * 60)
    r = client.post("/alerts/settings", data={"csrf_token": signed_in, "quiet_start": "25:00", "quiet_end": "x"})
    assert r.status_code == 422 and "Use a time like 22:00." in r.get_data(as_text=True)
    r = client.post("/alerts/settings/webhook", data={"csrf_token": signed_in, "webhook_url": "https://example.com/h"})
    assert r.status_code == 403 and "Webhook alerts are not included" in r.get_data(as_text=True)
    assert services.get_settings(trader).webhook_url is None
    r = client.post("/alerts/settings/phone", data={"csrf_token": signed_in, "phone": "+15551234567"})
    assert r.status_code == 403 and "SMS alerts are not included" in r.get_data(as_text=True)
    r = client.post("/alerts/settings/phone/verify", data={"csrf_token": signed_in, "code": "123456"})
    assert r.status_code == 422  # the free plan's page shows no SMS form at all
    assert services.get_settings(trader).phone_verified_at is None


def test_settings_webhook_and_phone_for_basic(client, login, basic, textbelt):
    login(basic)
    tok = token(client.get("/alerts/settings").get_data(as_text=True))
    r = client.post("/alerts/settings/webhook", data={"csrf_token": tok, "webhook_url": "https://10.0.0.1/h"})
    assert r.status_code == 422 and "not a public internet address" in r.get_data(as_text=True)
    r = client.post("/alerts/settings/webhook", data={"csrf_token": tok, "webhook_url": "https://example.com/h"})
    assert r.status_code == 303
    page = client.get("/alerts/settings").get_data(as_text=True)
    assert services.get_settings(basic).webhook_secret in page
    r = client.post("/alerts/settings/phone", data={"csrf_token": tok, "phone": "12"})
    assert r.status_code == 422 and "international form" in r.get_data(as_text=True)
    r = client.post("/alerts/settings/phone", data={"csrf_token": tok, "phone": "+1 (555) 123-4567"})
    assert r.status_code == 303
    code = re.search(r"\b(\d{6})\b", textbelt.sent[-1]["message"]).group(1)
    r = client.post("/alerts/settings/phone/verify", data={"csrf_token": tok, "code": code})
    assert r.status_code == 303
    assert services.get_settings(basic).phone_verified
    for _ in range(2):
        client.post("/alerts/settings/phone", data={"csrf_token": tok, "phone": "+15551234567"})
    r = client.post("/alerts/settings/phone", data={"csrf_token": tok, "phone": "+15551234567"})
    assert r.status_code == 429 and "Too many codes" in r.get_data(as_text=True)


def test_bell_etag_never_reused_after_a_redis_reset(client, signed_in, trader):
    """A flushed/restarted Redis must not hand out an old version number again: a browser
    holding that ETag would get a 304 and keep showing stale content."""
    from app.redis_store import get_redis

    services.create_rule(trader, RuleInput(symbol="AAPL", conditions=[{"kind": "price_above", "value": 1}]))
    etag = client.get("/alerts/bell").headers["ETag"]  # no alerts yet
    services.evaluate_cycle()
    get_redis().flushdb()  # the counter is gone; a counter restarting at 0 would reuse `etag`
    r = client.get("/alerts/bell", headers={"If-None-Match": etag})
    assert r.status_code == 200 and 'data-unread="1"' in r.get_data(as_text=True)


def test_watchlist_and_screen_pages_link_to_prefilled_alerts(client, signed_in, trader):
    from app.models import SavedScreen
    from app.watchlists import services as wl

    lst = wl.create_watchlist(trader, "Core")
    wl.add_symbols(trader, lst.id, "AAPL")
    page = client.get(f"/watchlists/{lst.id}").get_data(as_text=True)
    assert f'href="/alerts/new?scope=watchlist&amp;ref={lst.id}"' in page
    assert 'href="/alerts/new?symbol=AAPL"' in page
    form_page = client.get(f"/alerts/new?scope=watchlist&ref={lst.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{lst.id}">Core</option>', form_page)
    r = client.post("/alerts", data=form(csrf_token=signed_in, scope_kind="watchlist", watchlist_id=str(lst.id),
                                         kind="price_above", value="1"))
    assert r.status_code == 303
    assert "Watchlist “Core”" in client.get("/alerts").get_data(as_text=True)
    s = SavedScreen(owner_id=trader.id, name="Movers", definition={"filters": []})
    db.session.add(s)
    db.session.commit()
    form_page = client.get(f"/alerts/new?scope=screen&ref={s.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{s.id}">Movers</option>', form_page)
    assert re.search(r'<option selected value="screen_enter">', form_page)
