"""Forms of the screener pages. Names are checked by the services (one set of messages)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField

from app.forms_util import strip


class RenameScreenForm(FlaskForm):
    name = StringField("New name", filters=[strip])


class SaveScreenForm(FlaskForm):
    """Save the screen on the page: `qs` is its definition as a query string."""

    name = StringField("Save this screen as", filters=[strip])
    qs = StringField("Screen")
    is_public = StringField("Public")
