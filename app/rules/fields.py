"""The fields a rule can name -- the single list, reused by the checker, the help page and docs.

A field's values always come from the data mapping handed to the evaluator
(:class:`app.rules.data.SeriesData`): the screener and alerts build it from the latest bars,
snapshots and stored indicator columns; backtests from daily bars.  When a numeric field is
missing from the mapping but can be derived from the bars (``price`` from ``close``,
``sma50`` from ``close``, ...), the data object derives it with the shared indicator library
(``derive`` below), so a backtest that only has OHLCV can still use ``rsi14 < 30``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.market import indicators as ind

NUMBER = "number"
TEXT = "text"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # NUMBER | TEXT
    description: str
    unit: str = ""
    # derive(get) -> array, where get(name) returns another field's array
    derive: Callable[[Callable[[str], np.ndarray]], np.ndarray] | None = None


def _f(name, description, unit="", derive=None, kind=NUMBER):
    return Field(name, kind, description, unit, derive)


FIELD_LIST: tuple[Field, ...] = (
    # bars / snapshot
    _f("open", "Opening price of the bar", "$"),
    _f("high", "Highest price of the bar", "$"),
    _f("low", "Lowest price of the bar", "$"),
    _f("close", "Closing (or latest) price of the bar", "$"),
    _f("volume", "Shares traded in the bar", "shares"),
    _f("price", "Latest price (same as close)", "$", lambda g: g("close")),
    _f(
        "change_pct",
        "Change from the previous close, in percent",
        "%",
        lambda g: ind.pct_change(g("close"), 1),
    ),
    _f(
        "gap_pct",
        "Opening gap from the previous close, in percent",
        "%",
        lambda g: ind.gap_pct(g("open"), ind.ref(g("close"), 1)),
    ),
    _f(
        "rel_volume",
        "Volume divided by the average volume of the previous 63 days",
        "x",
        lambda g: ind.relative_volume(g("volume"), 63),
    ),
    _f(
        "avg_volume",
        "Average daily volume of the last 63 days",
        "shares",
        lambda g: ind.sma(g("volume"), 63),
    ),
    _f("market_cap", "Market capitalisation", "$"),
    # stored indicator columns
    _f("rsi14", "RSI over 14 bars (Wilder)", "", lambda g: ind.rsi(g("close"), 14)),
    _f(
        "sma20",
        "Simple moving average of the close, 20 bars",
        "$",
        lambda g: ind.sma(g("close"), 20),
    ),
    _f(
        "sma50",
        "Simple moving average of the close, 50 bars",
        "$",
        lambda g: ind.sma(g("close"), 50),
    ),
    _f(
        "sma200",
        "Simple moving average of the close, 200 bars",
        "$",
        lambda g: ind.sma(g("close"), 200),
    ),
    _f(
        "ema12",
        "Exponential moving average of the close, 12 bars",
        "$",
        lambda g: ind.ema(g("close"), 12),
    ),
    _f(
        "ema26",
        "Exponential moving average of the close, 26 bars",
        "$",
        lambda g: ind.ema(g("close"), 26),
    ),
    _f(
        "atr14",
        "Average true range over 14 bars (Wilder)",
        "$",
        lambda g: ind.atr(g("high"), g("low"), g("close"), 14),
    ),
    _f("macd", "MACD line (12, 26, 9)", "", lambda g: ind.macd(g("close"))[0]),
    _f(
        "macd_signal",
        "MACD signal line (12, 26, 9)",
        "",
        lambda g: ind.macd(g("close"))[1],
    ),
    _f("macd_hist", "MACD histogram (12, 26, 9)", "", lambda g: ind.macd(g("close"))[2]),
    _f(
        "bb_upper",
        "Upper Bollinger band (20, 2)",
        "$",
        lambda g: ind.bollinger(g("close"), 20, 2)[0],
    ),
    _f(
        "bb_lower",
        "Lower Bollinger band (20, 2)",
        "$",
        lambda g: ind.bollinger(g("close"), 20, 2)[2],
    ),
    _f(
        "week52_high",
        "Highest high of the last 252 bars",
        "$",
        lambda g: ind.week52_high(g("high")),
    ),
    _f(
        "week52_low",
        "Lowest low of the last 252 bars",
        "$",
        lambda g: ind.week52_low(g("low")),
    ),
    # text
    _f("sector", 'GICS sector, e.g. "Information Technology"', kind=TEXT),
    _f("industry", 'Industry, e.g. "Semiconductors"', kind=TEXT),
    _f("exchange", 'Listing exchange, e.g. "NASDAQ"', kind=TEXT),
    _f("asset_type", 'Instrument type: "stock", "etf" or "index"', kind=TEXT),
)

FIELDS: dict[str, Field] = {f.name: f for f in FIELD_LIST}
NUMBER_FIELDS = tuple(f.name for f in FIELD_LIST if f.kind == NUMBER)
TEXT_FIELDS = tuple(f.name for f in FIELD_LIST if f.kind == TEXT)
