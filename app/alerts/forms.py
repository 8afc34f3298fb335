"""Forms of the alert pages. Numbers, symbols and formulas are checked by the services (one
set of messages); WTForms checks presence and lengths."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app.forms_util import strip as _strip
from app.models.alerts import CONDITION_KINDS, COOLDOWN, DEFAULT_COOLDOWN, ONCE, SCOPES

KIND_CHOICES = [
    ("crosses_above", "Price crosses above"), ("crosses_below", "Price crosses below"),
    ("price_above", "Price is above"), ("price_below", "Price is below"),
    ("change_above", "Change % is above"), ("change_below", "Change % is below"),
    ("volume_spike", "Volume spike: relative volume ≥"), ("formula", "Formula (rule language)"),
    ("screen_enter", "Symbol enters the saved screen"), ("screen_exit", "Symbol leaves the saved screen"),
]
assert {k for k, _ in KIND_CHOICES} == set(CONDITION_KINDS)
SCOPE_CHOICES = [("symbol", "One symbol"), ("watchlist", "A watchlist"), ("screen", "A saved screen"),
                 ("universe", "Whole market (Pro)")]
assert {k for k, _ in SCOPE_CHOICES} == set(SCOPES)


class AlertForm(FlaskForm):
    name = StringField("Name (optional)", filters=[_strip], validators=[Length(max=80)])
    scope_kind = SelectField("Watch", choices=SCOPE_CHOICES, default="symbol")
    symbol = StringField("Symbol", filters=[_strip], validators=[Length(max=12)])
    watchlist_id = SelectField("Watchlist", choices=[], validate_choice=False)
    screen_id = SelectField("Saved screen", choices=[], validate_choice=False)
    kind = SelectField("Condition", choices=KIND_CHOICES, default="crosses_above")
    value = StringField("Value", filters=[_strip], validators=[Length(max=20)],
                        description="Price in USD, change in %, or relative volume (e.g. 3 = 3× normal).")
    formula = TextAreaField("Formula", filters=[_strip], validators=[Length(max=1000)])
    kind2 = SelectField("And (optional)", choices=[("", "— no second condition —"), *KIND_CHOICES[:8]],
                        default="")
    value2 = StringField("Value", filters=[_strip], validators=[Length(max=20)])
    formula2 = TextAreaField("Formula", filters=[_strip], validators=[Length(max=1000)])
    trigger_mode = SelectField("Trigger", choices=[(COOLDOWN, "Every time, after a cooldown"),
                                                   (ONCE, "Only once")], default=COOLDOWN)
    cooldown_minutes = StringField("Cooldown (minutes, per symbol)", default=str(DEFAULT_COOLDOWN),
                                   filters=[_strip], validators=[Length(max=6)])
    notify_email = BooleanField("Email")
    notify_sms = BooleanField("SMS")
    notify_webhook = BooleanField("Webhook")
    message = StringField("Message", filters=[_strip], validators=[Length(max=500)],
                          description="Placeholders: {symbol} {price} {change_pct} {rule} {time}")
    expires_on = DateField("Expires on (optional)", validators=[Optional()])

    def scope_ref(self):
        return self.watchlist_id.data if self.scope_kind.data == "watchlist" else self.screen_id.data

    def conditions(self) -> list[dict]:
        out = [{"kind": self.kind.data, "value": self.value.data, "formula": self.formula.data}]
        if self.kind2.data:
            out.append({"kind": self.kind2.data, "value": self.value2.data, "formula": self.formula2.data})
        return out


class SettingsForm(FlaskForm):
    email_on = BooleanField("Email")
    sms_on = BooleanField("SMS")
    webhook_on = BooleanField("Webhook")
    quiet_start = StringField("Quiet from (ET)", filters=[_strip], validators=[Length(max=5)],
                              description="e.g. 22:00 — no email, SMS or webhook during quiet hours.")
    quiet_end = StringField("until (ET)", filters=[_strip], validators=[Length(max=5)])


class PhoneForm(FlaskForm):
    phone = StringField("Phone number", filters=[_strip], validators=[Length(max=24)],
                        description="International form, e.g. +1 555 123 4567.")


class CodeForm(FlaskForm):
    code = StringField("Code from the SMS", filters=[_strip], validators=[Length(max=10)])


class WebhookForm(FlaskForm):
    webhook_url = StringField("Webhook URL (https)", filters=[_strip], validators=[Length(max=500)])


class TemplateForm(FlaskForm):
    name = StringField("Template name", filters=[_strip],
                       validators=[Length(max=80, message="The template name is too long (80 characters at most).")])


class ApplyTemplateForm(FlaskForm):
    scope_kind = SelectField("Apply to", choices=[("symbol", "Symbols"), ("watchlist", "A watchlist"),
                                                  ("screen", "A saved screen")], default="symbol")
    symbols = StringField("Symbols", filters=[_strip],
                          validators=[Length(max=600, message="Check the symbols (600 characters at most).")],
                          description="One or more, separated by commas or spaces.")
    watchlist_id = SelectField("Watchlist", choices=[], validate_choice=False)
    screen_id = SelectField("Saved screen", choices=[], validate_choice=False)

    def scope_ref(self):
        return self.watchlist_id.data if self.scope_kind.data == "watchlist" else self.screen_id.data
