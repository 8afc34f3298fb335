"""Destructive actions ask before they act, and say what will be lost: the rendered buttons
carry data-confirm with the exact text (static/js/app.js shows it with window.confirm and
stops the submission on Cancel; tests/browser/test_trader_view.py drives a real dialog)."""
from __future__ import annotations

import html
import re
from unittest.mock import patch

import pytest

from app.billing.plans import PLANS
from tests.screener import universe as _universe


def confirms(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'data-confirm="([^"]*)"', page)]


@pytest.fixture()
def trader(client, login, db, factories):
    _universe.build()
    user = factories.user(email="conf@example.com")
    login(user)
    return user


def test_delete_watchlist_and_remove_row(client, trader):
    from app.watchlists import services

    wl = services.create_watchlist(trader, "Tech")
    services.add_symbols(trader, wl.id, "AAA BBB CCC")
    item = wl.items[0]
    services.update_item(trader, item.id, note="gap fill", target="12", stop="9")
    page = client.get(f"/watchlists/{wl.id}").get_data(as_text=True)
    texts = confirms(page)
    assert "Delete watchlist “Tech”? Its 3 symbols and their notes, targets and stops will be lost." in texts
    assert "Remove AAA from “Tech”? Its note, target and stop will be lost." in texts
    assert "Remove BBB from “Tech”? The price it was added at will be lost." in texts


def test_delete_screen(client, trader):
    from app.screener import services
    from tests.screener.test_routes import defn

    services.save_screen(trader, "Cheap", defn("f=price:lt:20"), is_public=True)
    page = client.get("/screener/screens").get_data(as_text=True)
    assert confirms(page) == ["Delete screen “Cheap”? Its filters, formula and sort will be lost, and traders "
                              "who use this public screen lose it too."]


def test_delete_alert_and_template(client, trader):
    from app.alerts import services
    from app.alerts.services import RuleInput

    rule = services.create_rule(trader, RuleInput(name="AAA up", symbol="AAA",
                                                  conditions=[{"kind": "price_above", "value": 5}]))
    assert confirms(client.get("/alerts").get_data(as_text=True)) == [
        "Delete alert “AAA up”? Its conditions and notification settings will be lost; alerts it already "
        "triggered stay in your history."]
    services.save_template(trader, rule.id, "Breakout")
    assert confirms(client.get("/alerts/templates").get_data(as_text=True)) == [
        "Delete template “Breakout”? Its conditions and settings will be lost; alerts already made from it are kept."]


def test_archive_strategy(client, trader):
    from app.strategies import services

    s = services.create_strategy(trader, name="Dip buyer", category="swing", universe="AAA",
                                 entry_rule="close > 0", exit_rule="close < 0", sizing_pct="10")
    page = client.get(f"/strategies/{s.id}").get_data(as_text=True)
    assert confirms(page) == ["Archive strategy “Dip buyer”? It can no longer be tracked forward (archiving "
                              "cannot be undone); its rules and backtests are kept."]


def test_admin_disable_and_make_admin(client, login, db, factories):
    admin = factories.admin(email="root@example.com")
    factories.user(email="bob@example.com")
    factories.admin(email="eve@example.com")
    login(admin)
    texts = confirms(client.get("/admin/users").get_data(as_text=True))
    assert "Disable bob@example.com? They can no longer sign in or use the site until an admin enables the " \
           "account again." in texts
    assert "Make bob@example.com an admin? They get full access to the admin pages: users, the audit log and " \
           "the scanners." in texts
    assert "Revoke admin rights from eve@example.com? They lose access to the admin pages." in texts


def test_confirmation_glue_is_served(client, db):
    response = client.get("/static/js/app.js")
    js = response.get_data(as_text=True)
    response.close()  # a static file response holds the file open until closed
    assert 'getAttribute("data-confirm")' in js and "window.confirm(message)" in js


def test_pro_plan_watchlist_pages_still_render(client, trader):
    """A second list (Pro) shows its own count in the message."""
    from app.watchlists import services

    with patch("app.watchlists.services.plan_for", return_value=PLANS["pro"]):
        services.create_watchlist(trader, "Tech")
        empty = services.create_watchlist(trader, "Empty")
    page = client.get(f"/watchlists/{empty.id}").get_data(as_text=True)
    assert confirms(page) == ["Delete watchlist “Empty”? The empty list will be gone."]
