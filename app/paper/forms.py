"""Forms of the paper pages. Numbers are parsed by the services (one set of messages)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.forms_util import strip as _strip


class AccountForm(FlaskForm):
    name = StringField("Name", filters=[_strip], default="Paper account",
                       validators=[DataRequired("Give the account a name."), Length(max=60)])
    starting_balance = StringField("Starting balance (USD)", default="100000", filters=[_strip],
                                   validators=[Length(max=20)])
    allow_short = BooleanField("Allow short selling")
    slippage_bps = StringField("Slippage (basis points)", default="5", filters=[_strip], validators=[Length(max=10)],
                               description="Applied against you on every fill; 5 bps = 0.05 %.")
    commission = StringField("Commission per order (USD)", default="0", filters=[_strip], validators=[Length(max=10)])


class ResetForm(FlaskForm):
    confirm = StringField("Type the account name to confirm", filters=[_strip],
                          validators=[DataRequired("Type the account name to confirm."), Length(max=60)])
    starting_balance = StringField("New starting balance (optional)", filters=[_strip], validators=[Length(max=20)])


class OrderForm(FlaskForm):
    symbol = StringField("Symbol", filters=[_strip], validators=[DataRequired("Enter a symbol."), Length(max=12)])
    side = SelectField("Side", choices=[("buy", "Buy"), ("sell", "Sell"), ("short", "Short"), ("cover", "Cover")],
                       default="buy")
    qty = StringField("Quantity (shares)", filters=[_strip], validators=[Length(max=20)])
    amount = StringField("or amount (USD)", filters=[_strip], validators=[Length(max=20)])
    type = SelectField("Type", choices=[("market", "Market"), ("limit", "Limit"), ("stop", "Stop"),
                                        ("stop_limit", "Stop-limit")], default="market")
    limit_price = StringField("Limit price", filters=[_strip], validators=[Length(max=20)])
    stop_price = StringField("Stop price", filters=[_strip], validators=[Length(max=20)])
    take_profit = StringField("Take-profit", filters=[_strip], validators=[Length(max=20)])
    stop_loss = StringField("Stop-loss", filters=[_strip], validators=[Length(max=20)])
    tif = SelectField("TIF", choices=[("day", "Day"), ("gtc", "GTC")], default="day")
    idempotency_key = HiddenField()
