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


def render_form(page: str, partial: str | None, form, /, *, status: int | None = None, form_name: str = "form",
                **context: Any) -> Response:
    """Render a form page/partial; 422 when the submitted form has errors (or `status`).
    The form reaches the template as `form_name` (a page with several forms names each)."""
    if status is None:
        status = 422 if (form.errors or form.form_errors) else 200
    return render_view(page, partial, status=status, **{**context, form_name: form})


def submit_form(form, call: Callable[[], Any], done: Callable[[Any], Response], *, page: str,
                partial: str | None = None, form_name: str = "form",
                context_fn: Callable[[], dict[str, Any]] | None = None, conflict_status: int = 409,
                **context: Any) -> Response:
    """The one way a form route handles a submission.

    validate -> one service call (`call`) -> `done(result)` builds the answer (usually a
    redirect). A service's InvalidInput becomes the message of the field it names (or of the
    form) and the form is re-rendered with 422; a Conflict likewise with `conflict_status`
    (409 unless the page shows a conflict like any other refusal). NotFound, Forbidden,
    LimitReached and Throttled go to the error handler (404/403/429 page or fragment; a plan
    limit shows its usage and links to the plans). A GET, or a submission that fails
    validation, renders the form (422 when it has errors).

    The form reaches the template as `form_name`. `context_fn`, when given, is called only
    when the form is re-rendered (after the failed call, so it sees the current state) and
    its dict is added to `context` -- for context that is costly, or differs between the
    page and the HTMX partial.
    """
    from app.errors import Conflict, InvalidInput

    status = None
    if form.validate_on_submit():
        try:
            result = call()
        except Conflict as exc:
            apply_error(form, exc)
            status = conflict_status
        except InvalidInput as exc:
            apply_error(form, exc)
        else:
            return done(result)
    if context_fn is not None:
        context = {**context, **context_fn()}
    return render_form(page, partial, form, status=status, form_name=form_name, **context)


def versioned_fragment(etag: str | None, render: Callable[[], str]) -> Response:
    """A polled live fragment, revalidated by ETag.

    `etag` must come from a cheap data version (a Redis counter bumped by the writer), never
    from hashing the rendered page. When the client already holds that version the answer is
    an empty 304 and `render` is not called. `private, no-cache` lets the browser keep the
    fragment and send If-None-Match on the next poll (no-store would defeat that).
    """
    if etag and request.if_none_match.contains(etag):
        response = make_response("", 304)
    else:
        response = make_response(render())
    if etag:
        response.set_etag(etag)
        response.headers["Cache-Control"] = "private, no-cache"
    return add_vary(response)
