"""A6: no input makes any route answer 5xx.

Walks EVERY rule in app.url_map, signed in as an admin with a valid CSRF token, with GET and
POST, putting hostile values into the URL's variables, the query string and every form field
name the app knows (WTForms fields, `name=` in templates, request.args/form keys in routes):
ids past 2^31 and 2^63, CR/LF (e.g. in `next=`), NUL bytes.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from wtforms.fields.core import UnboundField

import app as app_package

ROOT = Path(__file__).resolve().parents[2]
SKIP = {"static", "auth.logout", "auth.oauth_start", "auth.oauth_callback"}

HOSTILE = {
    "int64": "99999999999999999999",
    "int32": "2147483648",
    "negative": "-9223372036854775809",
    "crlf": "/x\r\nSet-Cookie: evil=1",
    "nul": "AB\x00C",
}


def _field_names() -> set[str]:
    names: set[str] = set()
    for mod in pkgutil.walk_packages(app_package.__path__, "app."):
        if mod.name.endswith(".forms"):
            module = importlib.import_module(mod.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                names.update(n for n, v in inspect.getmembers(cls) if isinstance(v, UnboundField))
    for path in (ROOT / "templates").rglob("*.html"):
        names.update(re.findall(r'name="([A-Za-z_][\w\-]*)"', path.read_text()))
    for path in (ROOT / "app").rglob("*.py"):
        names.update(re.findall(r'request\.(?:args|form|values)\.get(?:list)?\(\s*"([^"]+)"', path.read_text()))
    names.discard("csrf_token")
    return names


FIELDS = sorted(_field_names())


def _rules(app):
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint not in SKIP), key=lambda r: r.rule)


@pytest.fixture()
def admin_client(app, client, login, csrf, factories):
    login(factories.admin(email="root@example.com"))
    return client, csrf(client, "/home")


def _build_url(rule, value):
    """The rule's path with every variable set: the hostile value, or 1 where it must be an int."""
    from werkzeug.routing import IntegerConverter

    path = rule.rule
    for arg, conv in rule._converters.items():
        numeric = isinstance(conv, IntegerConverter)
        filled = value if (not numeric or value.lstrip("-").isdigit()) else "1"
        path = re.sub(r"<(?:[^<>:]+:)?" + re.escape(arg) + r">", lambda _, f=filled: f, path)
    return path


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_no_route_answers_5xx_to_hostile_values(app, admin_client, kind):
    client, token = admin_client
    value = HOSTILE[kind]
    data = {name: value for name in FIELDS}
    failures = []
    for rule in _rules(app):
        path = _build_url(rule, value)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            if method == "GET":
                r = client.get(path, query_string=data)
            else:
                r = client.post(path, data={**data, "csrf_token": token}, headers={"X-CSRFToken": token})
            if r.status_code >= 500:
                failures.append(f"{method} {rule.rule} -> {r.status_code}")
            elif r.status_code >= 400:
                assert r.get_data(as_text=True).strip(), f"{method} {rule.rule}: {r.status_code} without a message"
    assert failures == [], "\n".join(failures)
