"""HTTP concerns shared by every blueprint: error pages, security headers, template helpers."""
from __future__ import annotations

import logging
from decimal import Decimal

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from app.errors import MAX_ID, DomainError, LimitReached, Throttled

# the one formatter; these names stay importable from here (app.web.ET, app.web.fmt_price...)
from app.formatting import (  # noqa: F401
    ET,
    fmt_abbrev,
    fmt_ago,
    fmt_change,
    fmt_et,
    fmt_money,
    fmt_price,
    register_filters,
)
from app.htmx import add_vary, is_htmx
from app.navigation import NAV

log = logging.getLogger(__name__)

ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",  # plan limits say which limit instead (see LimitReached)
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Upload too large",
    422: "Check your input",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def render_error(status: int, message: str | None = None, headers: dict | None = None, *,
                 usage: str | None = None, link: str | None = None, link_label: str = "See plans and limits"):
    """The error page, or its fragment for HTMX. `usage` and `link` (a plan limit's usage and
    the plans page, or where to go back to) are shown beside the message."""
    title = ERROR_TITLES.get(status, "Error")
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    body = render_template(template, status=status, title=title, message=message, usage=usage, link=link,
                           link_label=link_label, request_id=g.get("request_id"))
    response = add_vary(Flask.response_class(body, status=status, mimetype="text/html"))
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_error(400, "The form expired or was sent from elsewhere. Reload the page and try again.")

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
        if isinstance(exc, LimitReached):
            return render_error(exc.status_code, exc.message, headers, usage=exc.usage, link=exc.upgrade_url)
        return render_error(exc.status_code, exc.message, headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        headers = {}
        if exc.code == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        message = None if exc.code in (404, 500) else exc.description
        return render_error(exc.code or 500, message, headers)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        log.exception("unhandled error (request id %s) on %s %s", g.get("request_id"), request.method, request.path)
        return render_error(500, None)


# --- input guards: hostile values get a 4xx before they reach the database ------------------

NUL_MESSAGE = "Text cannot contain NUL characters (\\0). Remove them and try again."


class IdConverter(IntegerConverter):
    """`<int:...>` bounded to the database's id range: a larger number is a 404 like any
    unknown id, instead of an overflow inside the database driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def register_url_converters(app: Flask) -> None:
    """Before any blueprint is registered: rules bind their converters when added."""
    app.url_map.converters["int"] = IdConverter


def _has_nul() -> bool:
    if "\x00" in request.path:
        return True
    for source in (request.args, request.form if request.method in ("POST", "PUT", "PATCH") else None):
        if source and any("\x00" in key or "\x00" in value for key, value in source.items(multi=True)):
            return True
    return False


def register_input_guards(app: Flask) -> None:
    @app.before_request
    def refuse_nul_bytes():
        # PostgreSQL text columns cannot store NUL: refuse it up front, whatever the route.
        if _has_nul():
            return render_error(400, NUL_MESSAGE)
        return None


CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint and not request.endpoint.endswith("static"):
            response.headers.setdefault("Cache-Control", "no-store" if request.method != "GET" or
                                        _is_private(response) else "no-cache")
        return response


def _is_private(response) -> bool:
    from flask_login import current_user

    return bool(getattr(current_user, "is_authenticated", False))


def register_template_helpers(app: Flask) -> None:
    register_filters(app)

    @app.context_processor
    def globals_():
        from app.billing.plans import plan_for

        return {
            "app_name": app.config["APP_NAME"],
            "app_version": app.config["APP_VERSION"],
            "nav_items": NAV,
            "plan_for": plan_for,
            "Decimal": Decimal,
        }
