"""Forms of the screener pages. Names are checked by the services (one set of messages)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField

from app.forms_util import strip


class RenameScreenForm(FlaskForm):
    name = StringField("New name", filters=[strip])


class ScreenQueryForm(FlaskForm):
    """Update a saved screen with the page's settings: `qs` is the definition as a query string."""

    qs = StringField("Screen")


class SaveScreenForm(ScreenQueryForm):
    """Save the screen on the page as a new saved screen."""

    name = StringField("Save this screen as", filters=[strip])
    is_public = StringField("Public")
