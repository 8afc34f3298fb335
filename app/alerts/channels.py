"""The outside world of alerts: email (SMTP via app.mail), SMS (TextBelt) and webhooks.

Each sender returns a provider id on success or raises :class:`DeliveryError` saying whether
a retry may help. Nothing here touches the database.

Webhooks are SSRF-guarded: :func:`webhook_target` accepts only ``https://`` URLs whose host
resolves exclusively to public addresses, and the request is then sent **to the address that
was checked** (the TLS certificate is still verified against the host name), so a DNS answer
that changes between the check and the connection cannot redirect us to an internal host.
The guard is looked up as ``channels.webhook_guard`` at send time; the only place that
replaces it is the test suite (to deliver to a local plain-HTTP receiver), never app code.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3
from flask import current_app

from app.mail import send_mail


class DeliveryError(Exception):
    def __init__(self, reason: str, *, retry: bool):
        super().__init__(reason)
        self.reason = reason[:480]
        self.retry = retry


# --------------------------------------------------------------------------- email
def send_email(to: str, subject: str, text: str) -> str | None:
    try:
        send_mail(to, subject, text)
    except (OSError, ValueError) as exc:  # smtplib errors are OSErrors
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}", retry=True) from None
    return None


# --------------------------------------------------------------------------- SMS (TextBelt)
def send_sms(phone: str, message: str) -> str:
    """POST /text (form fields phone, message, key) -> {"success": true, "textId": ...}."""
    cfg = current_app.config
    if not cfg.get("TEXTBELT_KEY"):
        raise DeliveryError("SMS is not configured on this server (TEXTBELT_KEY unset)", retry=False)
    try:
        resp = requests.post(cfg["TEXTBELT_URL"], data={"phone": phone, "message": message[:800],
                                                        "key": cfg["TEXTBELT_KEY"]}, timeout=10)
    except requests.RequestException as exc:
        raise DeliveryError(f"TextBelt unreachable: {type(exc).__name__}", retry=True) from None
    if resp.status_code >= 500 or resp.status_code == 429:
        raise DeliveryError(f"TextBelt answered HTTP {resp.status_code}", retry=True)
    try:
        body = resp.json()
    except ValueError:
        raise DeliveryError(f"TextBelt answered HTTP {resp.status_code} without JSON", retry=True) from None
    if not body.get("success"):
        raise DeliveryError(f"TextBelt refused: {body.get('error') or 'unknown error'}", retry=False)
    return str(body.get("textId") or "")


# --------------------------------------------------------------------------- webhooks
@dataclass(frozen=True)
class Target:
    scheme: str  # "https" (the real guard never returns anything else)
    host: str  # the host name (TLS SNI, certificate check, Host header)
    address: str  # the checked IP address we connect to
    port: int
    path: str  # path + query


class UnsafeURL(ValueError):
    pass


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
                                 or ip.is_multicast or ip.is_unspecified)


def check_url_syntax(url: str) -> tuple[str, int, str]:
    """Static checks (no DNS): https, a host, no credentials, a sane port."""
    if not isinstance(url, str) or len(url) > 500:
        raise UnsafeURL("the webhook URL must be at most 500 characters")
    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        raise UnsafeURL("the webhook URL must start with https://")
    if parts.username or parts.password:
        raise UnsafeURL("the webhook URL must not contain a user name or password")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL("the webhook URL has no host")
    try:
        port = parts.port or 443
    except ValueError:
        raise UnsafeURL("the webhook URL has an invalid port") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and not _is_public(literal):
        raise UnsafeURL(f"the webhook address {literal} is not a public internet address")
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        raise UnsafeURL("the webhook host must be a public internet host")
    return host, port, path


def webhook_target(url: str, resolve=socket.getaddrinfo) -> Target:
    """The SSRF guard: resolve the host; refuse private, loopback, link-local, reserved,
    multicast addresses (every address the name resolves to must be public)."""
    host, port, path = check_url_syntax(url)
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeURL(f"the webhook host {host} does not resolve") from None
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not _is_public(ip):
            raise UnsafeURL(f"the webhook host {host} resolves to {ip}, which is not a public internet address")
        addresses.append(str(ip))
    if not addresses:
        raise UnsafeURL(f"the webhook host {host} does not resolve")
    return Target("https", host, addresses[0], port, path)


#: the guard used at send time (replaced only by the test suite's local-receiver fixture)
webhook_guard = webhook_target


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>." + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def send_webhook(url: str, secret: str, payload: dict, event_id: str) -> str:
    try:
        target = webhook_guard(url)
    except UnsafeURL as exc:
        raise DeliveryError(f"refused: {exc}", retry=False) from None
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    ts = str(int(time.time()))
    headers = {
        "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
        "Content-Type": "application/json",
        "User-Agent": "StockScanner-Webhooks/1",
        "X-StockScanner-Event": event_id,
        "X-StockScanner-Timestamp": ts,
        "X-StockScanner-Signature": sign(secret, ts, body),
    }
    timeout = urllib3.Timeout(connect=5, read=10)
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(target.address, target.port, server_hostname=target.host,
                                           assert_hostname=target.host, cert_reqs="CERT_REQUIRED",
                                           timeout=timeout, retries=False)
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False)
    try:
        with pool:
            resp = pool.urlopen("POST", target.path, body=body, headers=headers, redirect=False,
                                preload_content=True)
    except urllib3.exceptions.HTTPError as exc:
        raise DeliveryError(f"webhook unreachable: {type(exc).__name__}", retry=True) from None
    if 200 <= resp.status < 300:
        return str(resp.status)
    retry = resp.status >= 500 or resp.status in (408, 429)
    raise DeliveryError(f"webhook answered HTTP {resp.status}", retry=retry)
