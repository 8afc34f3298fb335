"""Alert latency scan -> event -> delivered, per channel: the delivered times are recorded on
the rows (in-app on the event, email / SMS / webhook on the delivery), p50 / p95 per channel
over a recent window, and the admin page that shows them."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.alerts import services
from app.alerts.services import RuleInput
from app.extensions import db
from app.models import AlertDelivery, AlertEvent

T = dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC)


def ms(n: float) -> dt.timedelta:
    return dt.timedelta(milliseconds=n)


def test_delivered_times_are_recorded_for_in_app_and_email(market, trader, mailbox):
    market.add("AAPL", 150)
    services.create_rule(trader, RuleInput(symbol="AAPL", conditions=[{"kind": "price_above", "value": 100}],
                                           notify_email=True))
    services.evaluate_cycle()
    db.session.expire_all()
    ev = db.session.scalars(select(AlertEvent)).one()
    assert ev.snapshot_at is not None and ev.delivered_at is not None
    assert ev.snapshot_at <= ev.fired_at <= ev.delivered_at
    d = db.session.scalars(select(AlertDelivery)).one()
    assert (d.channel, d.status) == ("email", "sent") and len(mailbox) == 1
    assert d.sent_at >= ev.fired_at
    assert d.latency_ms == pytest.approx((d.sent_at - ev.snapshot_at).total_seconds() * 1000)
    assert d.latency_ms >= ev.latency_ms >= 0


def test_no_delivered_time_while_a_delivery_is_only_queued(market, trader):
    market.add("MSFT", 150)
    services.create_rule(trader, RuleInput(symbol="MSFT", conditions=[{"kind": "price_above", "value": 100}],
                                           notify_email=True))
    services.evaluate_cycle(enqueue_deliveries=False)
    d = db.session.scalars(select(AlertDelivery)).one()
    assert (d.status, d.sent_at, d.latency_ms) == ("queued", None, None)


def _event(owner, stock, fired_ms: float, delivered_ms: float | None, at: dt.datetime = T) -> AlertEvent:
    ev = AlertEvent(owner_id=owner.id, stock_id=stock.id, symbol=stock.symbol, rule_name="r", description="d",
                    message="m", values={}, snapshot_at=at, fired_at=at + ms(fired_ms),
                    delivered_at=at + ms(delivered_ms) if delivered_ms is not None else None)
    db.session.add(ev)
    db.session.flush()
    return ev


def _delivery(ev: AlertEvent, channel: str, sent_ms: float | None, status: str = "sent") -> None:
    db.session.add(AlertDelivery(event_id=ev.id, owner_id=ev.owner_id, channel=channel, status=status, attempts=1,
                                 sent_at=ev.snapshot_at + ms(sent_ms) if sent_ms is not None else None))


@pytest.fixture()
def timeline(market, trader):
    """Three alerts 100 / 200 / 300 ms after the scan, in-app 50 ms later; email for all three
    (1, 2 and 5 s after the scan), SMS for one, a failed webhook; and one alert from long ago."""
    stock = market.add("LAT", 10)
    evs = [_event(trader, stock, f, f + 50) for f in (100, 200, 300)]
    for ev, sent in zip(evs, (1000, 2000, 5000), strict=True):
        _delivery(ev, "email", sent)
    _delivery(evs[0], "sms", 3000)
    _delivery(evs[1], "webhook", None, status="failed")
    old = _event(trader, stock, 10_000, 10_050, at=T - dt.timedelta(days=3))
    _delivery(old, "email", 60_000)
    db.session.commit()
    return evs


def test_p50_and_p95_per_channel_over_the_window(timeline):
    rows = {r.channel: r for r in services.latency_by_channel(dt.timedelta(hours=24), now=T + dt.timedelta(hours=1))}
    assert list(rows) == ["in_app", "email", "sms", "webhook"]
    in_app, email, sms, webhook = rows["in_app"], rows["email"], rows["sms"], rows["webhook"]
    assert in_app.count == 3
    # linear interpolation: p95 of (100, 200, 300) = 200 + 0.9 x 100
    assert (in_app.scan_to_event.p50, in_app.scan_to_event.p95) == pytest.approx((200, 290))
    assert (in_app.event_to_delivered.p50, in_app.event_to_delivered.p95) == pytest.approx((50, 50))
    assert (in_app.scan_to_delivered.p50, in_app.scan_to_delivered.p95) == pytest.approx((250, 340))
    assert email.count == 3  # the 3-day-old one is outside the window
    assert (email.scan_to_delivered.p50, email.scan_to_delivered.p95) == pytest.approx((2000, 4700))
    assert (email.event_to_delivered.p50, email.event_to_delivered.p95) == pytest.approx((1800, 4410))
    assert (sms.count, sms.scan_to_delivered.p50, sms.scan_to_delivered.p95) == (1, pytest.approx(3000),
                                                                                 pytest.approx(3000))
    assert (webhook.count, webhook.scan_to_delivered.p50) == (0, None)  # failed: not delivered


def test_admin_page_shows_per_channel_figures(client, login, factories, timeline, monkeypatch):
    monkeypatch.setattr("app.alerts.latency.utcnow", lambda: T + dt.timedelta(hours=1))
    login(factories.admin())
    resp = client.get("/alerts/admin/latency?window=24h")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    email_row = page[page.index('data-channel="email"'):]
    email_row = email_row[:email_row.index("</tr>")]
    assert ">Email<" in email_row and ">3<" in email_row
    assert "2,000 ms" in email_row and "4,700 ms" in email_row and "1,800 ms" in email_row
    in_app_row = page[page.index('data-channel="in_app"'):]
    assert "250 ms" in in_app_row[:in_app_row.index("</tr>")]
    assert 'href="/alerts/admin/latency"' in page  # in the admin navigation


def test_admin_page_is_for_admins_only(client, login, trader):
    login(trader)
    assert client.get("/alerts/admin/latency").status_code == 403


def test_unknown_window_falls_back_to_24_hours(client, login, factories):
    login(factories.admin())
    page = client.get("/alerts/admin/latency?window=forever").get_data(as_text=True)
    assert "over the last 24h" in page and page.count("<td class=\"num\">—</td>") == 4 * 6
