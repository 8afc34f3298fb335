"""B5: app.htmx.submit_form, the one form-submission path (validate -> one service call ->
domain error to field message / 403 / 409 -> re-render with 422)."""
from __future__ import annotations

import pytest
from flask import make_response
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from app.errors import Conflict, InvalidInput, LimitReached
from app.htmx import submit_form


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    display_name = StringField("Name", validators=[DataRequired(message="Enter a name.")])


def _submit(app, call, data=None, method="POST", htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    with app.test_request_context("/account/profile", method=method, data=data or {}, headers=headers):
        form = NameForm()
        try:
            response = submit_form(form, call, lambda result: make_response(f"done {result}", 303),
                                   page="accounts/profile.html", partial="accounts/_profile_form.html")
        except LimitReached as exc:  # what the app's error handler renders
            response = app.make_response(app.handle_user_exception(exc))
        return response, form


def test_success_calls_the_service_once_and_answers_with_done(app, db):
    calls = []
    r, _ = _submit(app, lambda: calls.append(1) or 7, {"display_name": "Ada"})
    assert (r.status_code, r.get_data(as_text=True), calls) == (303, "done 7", [1])


def test_validation_errors_rerender_422_without_calling_the_service(app, db):
    calls = []
    r, form = _submit(app, lambda: calls.append(1), {"display_name": ""})
    assert r.status_code == 422 and calls == []
    assert form.display_name.errors == ["Enter a name."]


def test_invalid_input_becomes_the_named_fields_message_422(app, db):
    def refuse():
        raise InvalidInput("That name is taken.", field="display_name")

    r, form = _submit(app, refuse, {"display_name": "Ada"}, htmx=True)
    assert r.status_code == 422 and form.display_name.errors == ["That name is taken."]
    assert "That name is taken." in r.get_data(as_text=True)
    assert "HX-Request" in r.headers["Vary"]


def test_conflict_is_409_with_the_form_message(app, db):
    def clash():
        raise Conflict("Someone changed this meanwhile; reload and try again.")

    r, form = _submit(app, clash, {"display_name": "Ada"})
    assert r.status_code == 409 and form.form_errors == ["Someone changed this meanwhile; reload and try again."]


def test_plan_limit_goes_to_the_error_handler_with_usage_and_link(app, db):
    def limited():
        raise LimitReached("Your Free plan allows 1 watchlist.", usage="Free plan: 1 of 1 watchlists used")

    r, _ = _submit(app, limited, {"display_name": "Ada"}, htmx=True)
    assert r.status_code == 403
    body = r.get_data(as_text=True)
    assert "Free plan: 1 of 1 watchlists used" in body and 'href="/account#plan"' in body


@pytest.mark.parametrize("method", ["GET"])
def test_a_get_renders_the_empty_form_200(app, db, method):
    r, _ = _submit(app, lambda: pytest.fail("no service call on GET"), method=method)
    assert r.status_code == 200
