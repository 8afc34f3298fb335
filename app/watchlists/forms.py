"""Forms of the watchlist pages. Names, symbols and prices are checked by the services (one
set of messages); the forms carry the fields so a refusal lands on the field it names."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField

from app.forms_util import strip


class WatchlistForm(FlaskForm):
    """Create or rename a list."""

    name = StringField("Name", filters=[strip])


class ItemFields(FlaskForm):
    note = StringField("Note")
    target_price = StringField("Target", filters=[strip])
    stop_price = StringField("Stop", filters=[strip])


class AddItemsForm(ItemFields):
    """One symbol (with note/target/stop), a pasted list, or a CSV file."""

    symbol = StringField("Symbol", filters=[strip])
    symbols = TextAreaField("Symbols")
    csv = FileField("CSV file")


class MoveItemForm(FlaskForm):
    to = StringField("Move to", filters=[strip])
