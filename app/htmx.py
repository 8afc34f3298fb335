"""HTMX helpers on top of htmx-flask: one place decides full page vs fragment."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response, make_response, render_template, request
from flask import redirect as flask_redirect
from htmx_flask import Htmx

htmx = Htmx()


def is_htmx() -> bool:
    """True for an HTMX request that is not a history restore (those want the full page)."""
    return bool(getattr(request, "htmx", False)) and not request.htmx.history_restore_request


def add_vary(response: Response) -> Response:
    response.vary.add("HX-Request")
    return response


def render_view(page: str, partial: str | None = None, *, status: int = 200, **context: Any) -> Response:
    """Render the partial for HTMX requests and the full page otherwise."""
    template = partial if (partial and is_htmx()) else page
    response = make_response(render_template(template, **context), status)
    return add_vary(response)


def fragment_with_etag(etag: str | None, render: Callable[[], str]) -> Response:
    """A polled live fragment: ``304 Not Modified`` (with ``Content-Length: 0`` so waitress
    keeps the connection alive) while the client's ETag is current, else ``render()`` with the
    ETag. ``etag`` derives from a cheap data version (Redis counter), never from hashing the
    page; ``None`` (e.g. Redis down) always renders."""
    if etag and request.if_none_match.contains(etag):
        response = make_response("", 304)
        response.set_etag(etag)
        response.headers["Content-Length"] = "0"
        response.headers["Cache-Control"] = "private, no-cache"
        return add_vary(response)
    response = make_response(render())
    if etag:
        response.set_etag(etag)
        # let the browser keep a private copy and revalidate it on every poll (If-None-Match)
        response.headers["Cache-Control"] = "private, no-cache"
    return add_vary(response)


def redirect(location: str, code: int = 303) -> Response:
    """A redirect that also works for HTMX requests (HX-Redirect instead of a swapped page)."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return add_vary(response)
    return add_vary(flask_redirect(location, code=code))


def hx_trigger(response: Response, event: str, detail: Any = None) -> Response:
    """Add a server event (kebab-case past tense, e.g. `alert-triggered`) to HX-Trigger."""
    existing = response.headers.get("HX-Trigger")
    events: dict[str, Any] = json.loads(existing) if existing and existing.startswith("{") else (
        {existing: None} if existing else {}
    )
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def reswap(response: Response, how: str) -> Response:
    """Set HX-Reswap by hand: htmx-flask's list of allowed values is broken for afterbegin/beforebegin."""
    response.headers["HX-Reswap"] = how
    return response


def apply_error(form, exc) -> None:
    """Attach a service's InvalidInput to the form field it names (or to the form)."""
    field = getattr(form, exc.field, None) if getattr(exc, "field", None) else None
    if field is not None:
        field.errors = [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
    else:
        form.form_errors.append(exc.message)


def render_form(page: str, partial: str | None, form, **context: Any) -> Response:
    """Render a form page/partial; 422 when the submitted form has errors."""
    status = 422 if (form.errors or form.form_errors) else 200
    return render_view(page, partial, status=status, form=form, **context)
