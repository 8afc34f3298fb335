"""Forms of the strategy pages. Numbers, symbols and rules are checked by the services (one
set of messages); WTForms gives CSRF and length limits."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.forms_util import strip as _strip
from app.models.strategies import CATEGORIES

CATEGORY_LABELS = {"momentum": "Momentum", "mean_reversion": "Mean reversion", "breakout": "Breakout",
                   "swing": "Swing", "day_trading": "Day trading", "trend_following": "Trend following",
                   "value": "Value", "custom": "Custom", "overall": "Overall", "rookies": "Rookies"}


class StrategyForm(FlaskForm):
    name = StringField("Name", filters=[_strip], validators=[DataRequired("Give the strategy a name."), Length(max=80)])
    description = TextAreaField("Description", filters=[_strip], validators=[Length(max=4000)])
    category = SelectField("Category", choices=[(c, CATEGORY_LABELS[c]) for c in CATEGORIES], default="custom")
    universe_kind = SelectField("Universe", choices=[("symbols", "A list of symbols"), ("watchlist", "One of my watchlists"),
                                                     ("screen", "A saved screen (its current members)")],
                                default="symbols")
    universe = TextAreaField("Symbols", filters=[_strip], validators=[Length(max=6000)],
                             description="Comma-separated symbols, up to 500 (when the universe is a list).")
    watchlist_id = SelectField("Watchlist", choices=[], validate_choice=False)
    screen_id = SelectField("Saved screen", choices=[], validate_choice=False,
                            description="Members are re-read at every backtest and every day while tracking.")
    entry_rule = TextAreaField("Entry rule (buy when, at the close)", filters=[_strip], validators=[Length(max=1000)])
    exit_rule = TextAreaField("Exit rule (sell when, at the close)", filters=[_strip], validators=[Length(max=1000)])
    sizing_pct = StringField("Position size (% of equity)", default="10", filters=[_strip], validators=[Length(max=10)])
    stop_loss_pct = StringField("Stop-loss % (optional)", filters=[_strip], validators=[Length(max=10)])
    take_profit_pct = StringField("Take-profit % (optional)", filters=[_strip], validators=[Length(max=10)])
    benchmark = SelectField("Benchmark", choices=[("SPY", "SPY (S&P 500)"), ("QQQ", "QQQ (NASDAQ 100)"),
                                                  ("IWM", "IWM (small caps)"),
                                                  ("sector", "The sector ETF of the universe")], default="SPY",
                            description="What backtests and the forward chart compare the strategy with.")
    visibility = SelectField("Visibility", choices=[("private", "Private"), ("unlisted", "Unlisted (link only)"),
                                                    ("public", "Public (leaderboard when tracked)")],
                             default="private")

    def values(self) -> dict:
        return {k: getattr(self, k).data for k in ("name", "description", "category", "universe_kind", "universe",
                                                    "watchlist_id", "screen_id", "entry_rule",
                                                    "exit_rule", "sizing_pct", "stop_loss_pct", "take_profit_pct",
                                                    "benchmark", "visibility")}


class BacktestForm(FlaskForm):
    start = StringField("From", filters=[_strip], validators=[Length(max=10)], description="YYYY-MM-DD; empty: all data")
    end = StringField("To", filters=[_strip], validators=[Length(max=10)])
    capital = StringField("Starting capital (USD)", default="100000", filters=[_strip], validators=[Length(max=20)])
    slippage_bps = StringField("Slippage (bps)", default="5", filters=[_strip], validators=[Length(max=10)])
    commission = StringField("Commission per order (USD)", default="0", filters=[_strip], validators=[Length(max=10)])


class RatingForm(FlaskForm):
    stars = SelectField("Rating", choices=[("5", "★★★★★ 5"), ("4", "★★★★ 4"), ("3", "★★★ 3"), ("2", "★★ 2"),
                                           ("1", "★ 1")], default="5")
    review = TextAreaField("Review (optional)", filters=[_strip], validators=[Length(max=2000)])


class ActionForm(FlaskForm):
    """CSRF only (buttons)."""

    confirm = HiddenField()
