"""Every channel through the real client code: SMTP to a real local aiosmtpd server,
TextBelt and webhooks to local HTTP servers that record requests; retries, failures,
quiet hours, plan gates, rate limits and the SSRF guard."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import socket

import pytest
from sqlalchemy import select

from app.alerts import channels, services
from app.alerts.services import RuleInput
from app.database import utcnow
from app.errors import LimitReached
from app.extensions import db
from app.models import AlertDelivery
from tests.conftest import mail_text


def make_rule(user, symbol="AAPL", **channels_on):
    return services.create_rule(user, RuleInput(symbol=symbol, conditions=[{"kind": "price_above", "value": 100}],
                                                **channels_on))


def deliveries() -> dict[str, AlertDelivery]:
    db.session.expire_all()
    return {d.channel: d for d in db.session.scalars(select(AlertDelivery))}


def verify_phone(user, textbelt, phone="+1 555 123 4567"):
    services.send_phone_code(user, phone)
    code = re.search(r"\b(\d{6})\b", textbelt.sent[-1]["message"]).group(1)
    services.verify_phone(user, code)


def test_email_through_real_smtp(market, trader, mailbox):
    market.add("AAPL", 150)
    make_rule(trader, notify_email=True)
    services.evaluate_cycle()
    assert len(mailbox) == 1
    msg = mailbox[0]
    assert msg["To"] == trader.email
    assert msg["Subject"].startswith("Alert: AAPL")
    assert "AAPL 150.00 is above 100.00" in mail_text(msg)
    d = deliveries()["email"]
    assert (d.status, d.attempts, d.reason) == ("sent", 1, None)


def test_email_failure_is_retried_with_backoff_then_sent(app, market, trader, mailbox):
    market.add("AAPL", 150)
    make_rule(trader, notify_email=True)
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = 1  # nothing listens there
    services.evaluate_cycle()
    d = deliveries()["email"]
    assert d.status == "retrying" and d.attempts == 1 and "SMTP" in d.reason
    assert d.next_retry_at > utcnow() + dt.timedelta(seconds=25)
    assert services.retry_due() == 0  # not due yet
    app.config["MAIL_PORT"] = port
    assert services.retry_due(now=utcnow() + dt.timedelta(seconds=31)) == 1
    d = deliveries()["email"]
    assert (d.status, d.attempts) == ("sent", 2)
    assert len(mailbox) == 1


def test_email_gives_up_after_max_attempts(app, market, trader, mailbox):
    market.add("AAPL", 150)
    make_rule(trader, notify_email=True)
    app.config["MAIL_PORT"] = 1
    services.evaluate_cycle()
    for k in range(1, 5):
        services.retry_due(now=utcnow() + dt.timedelta(hours=k))
    d = deliveries()["email"]
    assert (d.status, d.attempts) == ("failed", 4)
    assert d.next_retry_at is None


def test_sms_phone_verification_and_delivery(market, basic, textbelt):
    verify_phone(basic, textbelt)
    assert textbelt.sent[0]["phone"] == "+15551234567" and textbelt.sent[0]["key"] == "test-key"
    s = services.get_settings(basic)
    assert s.phone_verified and s.phone_code_hash is None
    market.add("AAPL", 150)
    make_rule(basic, notify_sms=True, message="{symbol} at {price}")
    services.evaluate_cycle()
    assert textbelt.sent[-1] == {"phone": "+15551234567", "message": "AAPL at 150.00", "key": "test-key"}
    d = deliveries()["sms"]
    assert (d.status, d.provider_id) == ("sent", "tb2")


def test_phone_code_wrong_expired_and_attempts(basic, textbelt):
    services.send_phone_code(basic, "+15551234567")
    with pytest.raises(services.InvalidInput, match="not right"):
        services.verify_phone(basic, "000000" if "000000" not in textbelt.sent[-1]["message"] else "111111")
    s = services.get_settings(basic)
    assert not s.phone_verified and s.phone_code_hash and "code" not in (s.phone_code_hash or "")
    s.phone_code_expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    code = re.search(r"\b(\d{6})\b", textbelt.sent[-1]["message"]).group(1)
    with pytest.raises(services.InvalidInput, match="expired"):
        services.verify_phone(basic, code)


def test_sms_needs_a_verified_phone_and_a_paid_plan(market, trader, basic, textbelt):
    market.add("AAPL", 150)
    with pytest.raises(LimitReached, match="SMS alerts are not included in the Free plan"):
        make_rule(trader, notify_sms=True)
    with pytest.raises(services.InvalidInput, match="Verify a phone"):
        make_rule(basic, notify_sms=True)
    with pytest.raises(LimitReached):
        services.send_phone_code(trader, "+15551234567")


def test_textbelt_refusal_fails_without_retry_and_server_error_retries(market, basic, textbelt):
    verify_phone(basic, textbelt)
    market.add("AAPL", 150)
    market.add("MSFT", 150)
    make_rule(basic, "AAPL", notify_sms=True)
    textbelt.fail_with = "Out of quota"
    services.evaluate_cycle()
    d = deliveries()["sms"]
    assert (d.status, d.reason) == ("failed", "TextBelt refused: Out of quota")
    db.session.delete(d)
    db.session.commit()
    textbelt.fail_with = None
    textbelt.status = 503
    make_rule(basic, "MSFT", notify_sms=True)
    services.evaluate_cycle()
    d = deliveries()["sms"]
    assert d.status == "retrying" and d.reason == "TextBelt answered HTTP 503"


def test_sms_monthly_plan_limit(app, market, basic, textbelt):
    from app.redis_store import get_redis

    verify_phone(basic, textbelt)
    get_redis().set(services._month_key(basic.id, utcnow()), 50)  # the Basic plan's 50 used up
    market.add("AAPL", 150)
    make_rule(basic, notify_sms=True)
    services.evaluate_cycle()
    d = deliveries()["sms"]
    assert d.status == "failed" and d.reason == "monthly SMS limit of the Basic plan reached (50)"
    assert len(textbelt.sent) == 1  # only the verification code


def test_sms_hourly_rate_limit(app, market, basic, textbelt, monkeypatch):
    verify_phone(basic, textbelt)
    monkeypatch.setitem(app.config, "ALERTS_SMS_PER_HOUR", 2)
    for sym in ("A1", "A2", "A3"):
        market.add(sym, 150)
        make_rule(basic, sym, notify_sms=True)
    services.evaluate_cycle()
    statuses = sorted(d.status for d in db.session.scalars(select(AlertDelivery)))
    assert statuses == ["failed", "sent", "sent"]
    failed = db.session.scalar(select(AlertDelivery).where(AlertDelivery.status == "failed"))
    assert failed.reason == "rate limit: more than 2 SMS in an hour"


def test_webhook_signed_delivery(market, basic, receiver, local_webhooks):
    s = services.set_webhook(basic, f"https://hooks.test:{receiver.port}/alerts?x=1")
    assert len(s.webhook_secret) == 64
    market.add("AAPL", 150)
    r = make_rule(basic, notify_webhook=True)
    services.evaluate_cycle()
    assert len(receiver.requests) == 1
    req = receiver.requests[0]
    assert req["path"] == "/alerts?x=1"
    h = {k.lower(): v for k, v in req["headers"].items()}
    assert h["host"] == f"hooks.test:{receiver.port}"
    expected = "sha256=" + hmac.new(s.webhook_secret.encode(), h["x-stockscanner-timestamp"].encode() + b"." + req["body"],
                                    hashlib.sha256).hexdigest()
    assert hmac.compare_digest(h["x-stockscanner-signature"], expected)
    body = json.loads(req["body"])
    assert body["symbol"] == "AAPL" and body["rule_id"] == r.id and body["type"] == "alert.triggered"
    assert h["x-stockscanner-event"] == body["id"]
    assert deliveries()["webhook"].status == "sent"


def test_webhook_4xx_fails_5xx_retries(market, basic, receiver, local_webhooks):
    services.set_webhook(basic, f"https://hooks.test:{receiver.port}/h")
    market.add("AAPL", 150)
    make_rule(basic, notify_webhook=True)
    receiver.status = 500
    services.evaluate_cycle()
    d = deliveries()["webhook"]
    assert (d.status, d.reason) == ("retrying", "webhook answered HTTP 500")
    receiver.status = 410
    services.retry_due(now=utcnow() + dt.timedelta(minutes=1))
    d = deliveries()["webhook"]
    assert (d.status, d.reason, d.attempts) == ("failed", "webhook answered HTTP 410", 2)


def test_one_failing_channel_never_blocks_the_others(app, market, basic, textbelt, receiver, local_webhooks, mailbox):
    verify_phone(basic, textbelt)
    services.set_webhook(basic, f"https://hooks.test:{receiver.port}/h")
    textbelt.status = 500
    market.add("AAPL", 150)
    make_rule(basic, notify_email=True, notify_sms=True, notify_webhook=True)
    services.evaluate_cycle()
    got = {c: d.status for c, d in deliveries().items()}
    assert got == {"email": "sent", "sms": "retrying", "webhook": "sent"}
    assert len(mailbox) == 1 and len(receiver.requests) == 1


def test_real_guard_refuses_delivery_to_loopback(market, basic):
    """Without the test override the real guard runs at send time: a host that resolves to
    a private address is refused and recorded, never contacted."""
    s = services.get_settings(basic)
    s.webhook_url, s.webhook_secret = "https://localhost.example.invalid/h", "k"
    db.session.commit()
    market.add("AAPL", 150)
    make_rule(basic, notify_webhook=True)
    services.evaluate_cycle()
    d = deliveries()["webhook"]
    assert d.status == "failed" and d.reason.startswith("refused: the webhook host localhost.example.invalid")


def test_quiet_hours_skip_external_channels(market, trader, mailbox):
    now_et = utcnow().astimezone(services.ET)
    start = (now_et - dt.timedelta(minutes=30)).strftime("%H:%M")
    end = (now_et + dt.timedelta(minutes=30)).strftime("%H:%M")
    services.update_settings(trader, email_on=True, sms_on=True, webhook_on=True, quiet_start=start, quiet_end=end)
    market.add("AAPL", 150)
    make_rule(trader, notify_email=True)
    services.evaluate_cycle()
    d = deliveries()["email"]
    assert (d.status, d.reason) == ("skipped", "quiet hours")
    assert mailbox == []
    assert services.unread_count(trader) == 1  # in-app always


def test_channel_switched_off_is_skipped(market, trader, mailbox):
    services.update_settings(trader, email_on=False, sms_on=True, webhook_on=True)
    market.add("AAPL", 150)
    make_rule(trader, notify_email=True)
    services.evaluate_cycle()
    assert deliveries()["email"].reason == "email notifications are switched off"
    assert mailbox == []


def test_webhooks_plan_gated(trader):
    with pytest.raises(LimitReached, match="Webhook alerts are not included in the Free plan"):
        services.set_webhook(trader, "https://example.com/hook")


def fake_resolver(*answers):
    def resolve(host, port, type=None):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in answers]
    return resolve


@pytest.mark.parametrize("url,answers,problem", [
    ("https://127.0.0.1/h", (), "127.0.0.1 is not a public"),
    ("https://[::1]/h", (), "::1 is not a public"),
    ("https://10.1.2.3/h", (), "10.1.2.3 is not a public"),
    ("https://169.254.169.254/latest/meta-data", (), "169.254.169.254 is not a public"),
    ("https://evil.example/h", ("127.0.0.1",), "resolves to 127.0.0.1"),
    ("https://evil.example/h", ("10.0.0.7",), "resolves to 10.0.0.7"),
    ("https://evil.example/h", ("192.168.1.1",), "resolves to 192.168.1.1"),
    ("https://evil.example/h", ("172.16.0.1",), "resolves to 172.16.0.1"),
    ("https://evil.example/h", ("169.254.169.254",), "resolves to 169.254.169.254"),
    ("https://evil.example/h", ("::1",), "resolves to ::1"),
    ("https://evil.example/h", ("fe80::1",), "resolves to fe80::1"),
    ("https://evil.example/h", ("::ffff:127.0.0.1",), "resolves to ::ffff:7f00:1"),
    ("https://evil.example/h", ("240.0.0.1",), "resolves to 240.0.0.1"),
    ("https://evil.example/h", ("0.0.0.0",), "resolves to 0.0.0.0"),  # noqa: S104
    ("https://evil.example/h", ("93.184.216.34", "10.0.0.1"), "resolves to 10.0.0.1"),  # any bad answer
    ("http://example.com/h", (), "must start with https://"),
    ("ftp://example.com/h", (), "must start with https://"),
    ("https://user:pw@example.com/h", (), "user name or password"),
    ("https://localhost/h", (), "public internet host"),
    ("https:///nohost", (), "no host"),
])
def test_ssrf_guard_refuses(url, answers, problem):
    with pytest.raises(channels.UnsafeURL, match=re.escape(problem)):
        channels.webhook_target(url, resolve=fake_resolver(*answers))


def test_ssrf_guard_accepts_public_and_pins_the_address():
    t = channels.webhook_target("https://hooks.example.com:8443/a?b=1", resolve=fake_resolver("93.184.216.34"))
    assert t == channels.Target("https", "hooks.example.com", "93.184.216.34", 8443, "/a?b=1")


def test_webhook_url_validation_on_save(basic):
    for bad in ("http://example.com/x", "https://127.0.0.1/x", "https://10.0.0.1/x", "not a url"):
        with pytest.raises(services.InvalidInput):
            services.set_webhook(basic, bad)


def test_no_email_to_an_unconfirmed_address(market, factories, mailbox):
    u = factories.user(confirmed=False)
    market.add("AAPL", 150)
    make_rule(u, notify_email=True)
    services.evaluate_cycle()
    d = deliveries()["email"]
    assert (d.status, d.reason) == ("failed", "the email address is not confirmed yet")
    assert mailbox == []
