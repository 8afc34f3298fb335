"""The rule language: one safe formula language for screens, alerts, strategies and custom
indicators.

    >>> from app.rules import compile_rule, SeriesData
    >>> rule = compile_rule("close > sma(close, 50) and rsi(14) < 30", expect="condition")
    >>> rule.evaluate(data)                     # cross-section: one bool per symbol
    >>> rule.evaluate(data, "time_series")      # every bar: (symbols, bars)

Text is parsed by a real grammar (``syntax``), type-checked (``checker``) against the single
tables of fields (``fields``) and functions (``functions``), planned and evaluated over numpy
arrays (``compiler``, ``data``).  Never ``eval``/``exec``; any input gives a compiled rule or
a :class:`RuleError`.
"""

from app.rules.compiler import (
    CROSS_SECTION,
    TIME_SERIES,
    CompiledRule,
    check,
    clear_cache,
    compile_rule,
    evaluate_many,
)
from app.rules.custom import CustomIndicator, CustomIndicatorSet, parse_definition
from app.rules.data import SeriesData
from app.rules.errors import RuleError
from app.rules.fields import FIELD_LIST, FIELDS
from app.rules.functions import FUNCTION_LIBRARY_VERSION, FUNCTION_LIST, FUNCTIONS

__all__ = [
    "CROSS_SECTION",
    "TIME_SERIES",
    "CompiledRule",
    "CustomIndicator",
    "CustomIndicatorSet",
    "FIELDS",
    "FIELD_LIST",
    "FUNCTIONS",
    "FUNCTION_LIBRARY_VERSION",
    "FUNCTION_LIST",
    "RuleError",
    "SeriesData",
    "check",
    "clear_cache",
    "compile_rule",
    "evaluate_many",
    "parse_definition",
]

from flask import Blueprint  # noqa: E402

bp = Blueprint("rules", __name__, url_prefix="/rules")

from app.rules import routes  # noqa: E402,F401
