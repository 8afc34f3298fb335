"""The function library of the rule language -- ONE table.

Each :class:`Function` carries what the checker needs (parameters with kinds, defaults and
bounds; the kind it returns), what the evaluator needs (the numpy implementation and how many
past bars it looks at) and what people read (one-line description, formula, example).  The
help partial, the validation page and the education pages all render from ``FUNCTIONS``.

Conventions of the implementations: series arguments arrive as float64 arrays of shape
``(n_symbols, n_bars)`` (time on the last axis); conditions are float arrays holding 1.0
(true), 0.0 (false) or NaN (unknown: warm-up or missing data) and combine with Kleene logic;
an unknown condition counts as false in the final result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.market import indicators as ind

#: Bump when a function's meaning or the set of functions changes: compiled-rule caches
#: include it in their key.
FUNCTION_LIBRARY_VERSION = "1"

# kinds of values
NUMBER = "number"
CONDITION = "condition"
TEXT = "text"

# parameter kinds
SERIES = "series"  # any number expression (a series, a per-stock value or a constant)
WINDOW = "window"  # a whole number of bars, known when the rule is compiled
CONST = "constant"  # a number known when the rule is compiled

REQUIRED = object()
MAX_WINDOW = 1000
FULL = None  # lookback marker: needs the whole history (recursive smoothing)


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    default: object = REQUIRED  # a field name for SERIES, a number for WINDOW/CONST
    lo: float | None = None
    hi: float | None = None
    description: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def signature(self) -> str:
        if self.required:
            return self.name
        d = self.default
        if isinstance(d, float) and d.is_integer():
            d = int(d)
        return f"{self.name}={d}"


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[Param, ...]
    returns: str  # NUMBER | CONDITION
    description: str
    formula: str
    example: str
    category: str
    impl: Callable = field(repr=False, compare=False)
    # extra past bars needed beyond the bars asked for, from the constant arguments;
    # returns FULL (None) when the whole history is needed.
    lookback: Callable[[dict], int | None] = field(repr=False, compare=False, default=None)
    validate: Callable[[dict], str | None] | None = field(repr=False, compare=False, default=None)
    # Education (the /learn/indicators pages render these; a test requires them for every
    # function): what it measures in plain words, how traders use it, common mistakes.
    details: str = field(compare=False, default="")
    usage: str = field(compare=False, default="")
    mistakes: tuple[str, ...] = field(compare=False, default=())

    def signature(self) -> str:
        return f"{self.name}({', '.join(p.signature() for p in self.params)})"

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


# --------------------------------------------------------------------------- helpers
def truth(mask: np.ndarray, unknown: np.ndarray | None = None) -> np.ndarray:
    """bool mask -> condition array (1.0/0.0), NaN where ``unknown``."""
    out = mask.astype(np.float64)
    if unknown is not None:
        out = np.where(unknown, np.nan, out)
    return out


def compare(op: str, a, b) -> np.ndarray:
    """Number comparison; unknown (NaN) when either side is NaN."""
    with np.errstate(invalid="ignore"):
        if op == ">":
            m = np.greater(a, b)
        elif op == ">=":
            m = np.greater_equal(a, b)
        elif op == "<":
            m = np.less(a, b)
        elif op == "<=":
            m = np.less_equal(a, b)
        elif op == "==":
            m = np.equal(a, b)
        else:
            m = np.not_equal(a, b)
    unknown = np.isnan(a) | np.isnan(b)
    return np.where(unknown, np.nan, m.astype(np.float64))


def k_and(a, b):
    """Kleene AND: false wins, then unknown, then true."""
    return np.where((a == 0) | (b == 0), 0.0, np.where(np.isnan(a) | np.isnan(b), np.nan, 1.0))


def k_or(a, b):
    """Kleene OR: true wins, then unknown, then false."""
    return np.where((a == 1) | (b == 1), 1.0, np.where(np.isnan(a) | np.isnan(b), np.nan, 0.0))


def k_not(a):
    return 1.0 - a  # NaN stays NaN


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.true_divide(a, b)
    return np.where(b == 0, np.nan, r)


def _mod(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.mod(a, b)
    return np.where(b == 0, np.nan, r)


ARITHMETIC = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": _div,
    "%": _mod,
}


def _window(c):
    return c["n"] - 1


def _shift(c):
    return c["n"]


def _zero(c):
    return 0


def _full(c):
    return FULL


def _round(x, digits):
    f = 10.0**digits
    with np.errstate(invalid="ignore", over="ignore"):
        return np.sign(x) * np.floor(np.abs(x) * f + 0.5) / f


def _log(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)


def _sqrt(x):
    with np.errstate(invalid="ignore"):
        return np.where(x >= 0, np.sqrt(np.where(x >= 0, x, 0.0)), np.nan)


def _crosses(a, b, above: bool):
    pa, pb = ind.ref(a, 1), ind.ref(b, 1)
    if above:
        return k_and(compare(">", a, b), compare("<=", pa, pb))
    return k_and(compare("<", a, b), compare(">=", pa, pb))


def _rising(x, n, up: bool):
    prev = ind.ref(x, 1)
    if up:
        return compare(">", x, ind.highest(prev, n))
    return compare("<", x, ind.lowest(prev, n))


def _macd_check(c):
    if c["fast"] >= c["slow"]:
        return "`fast` must be shorter than `slow`"
    return None


# --------------------------------------------------------------------------- the table
def _x(default=REQUIRED, name="x", description="the series"):
    return Param(name, SERIES, default, description=description)


def _n(default=REQUIRED, name="n", description="window length in bars", lo=1):
    return Param(name, WINDOW, default, lo, MAX_WINDOW, description)


FUNCTION_LIST: tuple[Function, ...] = (
    # moving averages
    Function(
        "sma",
        (_x(), _n()),
        NUMBER,
        "Simple moving average: the mean of the last n values.",
        "sma = (x[t] + x[t-1] + ... + x[t-n+1]) / n",
        "close > sma(close, 50)",
        "Moving averages",
        lambda a, c: ind.sma(a[0], c["n"]),
        _window,
    ),
    Function(
        "avg",
        (_x(), _n()),
        NUMBER,
        "Average of the last n values (same as sma).",
        "avg = sum(x, n) / n",
        "volume > 3 * avg(volume, 20)",
        "Moving averages",
        lambda a, c: ind.sma(a[0], c["n"]),
        _window,
    ),
    Function(
        "ema",
        (_x(), _n()),
        NUMBER,
        "Exponential moving average: recent values weigh more (alpha = 2/(n+1)).",
        "ema[t] = ema[t-1] + 2/(n+1) * (x[t] - ema[t-1]), seeded with the SMA of the first n",
        "ema(close, 12) > ema(close, 26)",
        "Moving averages",
        lambda a, c: ind.ema(a[0], c["n"]),
        _full,
    ),
    Function(
        "wma",
        (_x(), _n()),
        NUMBER,
        "Weighted moving average: linear weights, newest value weight n.",
        "wma = (n*x[t] + (n-1)*x[t-1] + ... + 1*x[t-n+1]) / (n(n+1)/2)",
        "close > wma(close, 20)",
        "Moving averages",
        lambda a, c: ind.wma(a[0], c["n"]),
        _window,
    ),
    # oscillators
    Function(
        "rsi",
        (_x("close"), _n(14)),
        NUMBER,
        "Relative strength index (Wilder), 0-100; below 30 is oversold, above 70 overbought.",
        "rsi = 100 * avg_gain / (avg_gain + avg_loss), Wilder-smoothed over n bars",
        "rsi(14) < 30",
        "Oscillators",
        lambda a, c: ind.rsi(a[0], c["n"]),
        _full,
    ),
    Function(
        "macd",
        (_x("close"), _n(12, "fast"), _n(26, "slow"), _n(9, "signal")),
        NUMBER,
        "MACD line: fast EMA minus slow EMA of the series.",
        "macd = ema(x, fast) - ema(x, slow)",
        "macd() > macd_signal()",
        "Oscillators",
        lambda a, c: ind.macd(a[0], c["fast"], c["slow"], c["signal"])[0],
        _full,
        _macd_check,
    ),
    Function(
        "macd_signal",
        (_x("close"), _n(12, "fast"), _n(26, "slow"), _n(9, "signal")),
        NUMBER,
        "MACD signal line: EMA of the MACD line over `signal` bars.",
        "macd_signal = ema(macd, signal)",
        "crosses_above(macd(), macd_signal())",
        "Oscillators",
        lambda a, c: ind.macd(a[0], c["fast"], c["slow"], c["signal"])[1],
        _full,
        _macd_check,
    ),
    Function(
        "macd_hist",
        (_x("close"), _n(12, "fast"), _n(26, "slow"), _n(9, "signal")),
        NUMBER,
        "MACD histogram: MACD line minus its signal line.",
        "macd_hist = macd - macd_signal",
        "macd_hist() > 0",
        "Oscillators",
        lambda a, c: ind.macd(a[0], c["fast"], c["slow"], c["signal"])[2],
        _full,
        _macd_check,
    ),
    # volatility
    Function(
        "atr",
        (
            _x("high", "high", "bar highs"),
            _x("low", "low", "bar lows"),
            _x("close", "close", "bar closes"),
            _n(14),
        ),
        NUMBER,
        "Average true range (Wilder): the typical bar-to-bar price range.",
        "tr = max(high - low, |high - close[t-1]|, |low - close[t-1]|); atr = Wilder average of tr",
        "atr(14) / close * 100 > 3",
        "Volatility",
        lambda a, c: ind.atr(a[0], a[1], a[2], c["n"]),
        _full,
    ),
    Function(
        "bb_upper",
        (
            _x("close"),
            _n(20),
            Param("k", CONST, 2.0, 0, 10, "band width in standard deviations"),
        ),
        NUMBER,
        "Upper Bollinger band: moving average plus k standard deviations.",
        "bb_upper = sma(x, n) + k * stdev(x, n)",
        "close > bb_upper(close, 20, 2)",
        "Volatility",
        lambda a, c: ind.bollinger(a[0], c["n"], c["k"])[0],
        _window,
    ),
    Function(
        "bb_mid",
        (_x("close"), _n(20)),
        NUMBER,
        "Middle Bollinger band: the moving average.",
        "bb_mid = sma(x, n)",
        "close < bb_mid()",
        "Volatility",
        lambda a, c: ind.sma(a[0], c["n"]),
        _window,
    ),
    Function(
        "bb_lower",
        (
            _x("close"),
            _n(20),
            Param("k", CONST, 2.0, 0, 10, "band width in standard deviations"),
        ),
        NUMBER,
        "Lower Bollinger band: moving average minus k standard deviations.",
        "bb_lower = sma(x, n) - k * stdev(x, n)",
        "close < bb_lower()",
        "Volatility",
        lambda a, c: ind.bollinger(a[0], c["n"], c["k"])[2],
        _window,
    ),
    Function(
        "stdev",
        (_x(), _n()),
        NUMBER,
        "Standard deviation (population) of the last n values.",
        "stdev = sqrt(sum((x - sma(x, n))^2) / n)",
        "stdev(close, 20) / close < 0.01",
        "Volatility",
        lambda a, c: ind.stdev(a[0], c["n"]),
        _window,
    ),
    # windows
    Function(
        "highest",
        (_x(), _n()),
        NUMBER,
        "Highest value of the last n bars.",
        "highest = max(x[t], ..., x[t-n+1])",
        "close >= highest(high, 252)",
        "Windows",
        lambda a, c: ind.highest(a[0], c["n"]),
        _window,
    ),
    Function(
        "lowest",
        (_x(), _n()),
        NUMBER,
        "Lowest value of the last n bars.",
        "lowest = min(x[t], ..., x[t-n+1])",
        "close <= lowest(low, 20)",
        "Windows",
        lambda a, c: ind.lowest(a[0], c["n"]),
        _window,
    ),
    Function(
        "sum",
        (_x(), _n()),
        NUMBER,
        "Sum of the last n values.",
        "sum = x[t] + ... + x[t-n+1]",
        "sum(volume, 5) > 1e7",
        "Windows",
        lambda a, c: ind.rolling_sum(a[0], c["n"]),
        _window,
    ),
    Function(
        "ref",
        (_x(), _n()),
        NUMBER,
        "The value n bars ago.",
        "ref = x[t-n]",
        "close > ref(close, 5)",
        "Windows",
        lambda a, c: ind.ref(a[0], c["n"]),
        _shift,
    ),
    Function(
        "change",
        (_x(), _n(1)),
        NUMBER,
        "Change over n bars.",
        "change = x[t] - x[t-n]",
        "change(close, 5) > 0",
        "Windows",
        lambda a, c: ind.change(a[0], c["n"]),
        _shift,
    ),
    Function(
        "pct_change",
        (_x(), _n(1)),
        NUMBER,
        "Change over n bars, in percent.",
        "pct_change = (x[t] / x[t-n] - 1) * 100",
        "pct_change(close, 20) > 10",
        "Windows",
        lambda a, c: ind.pct_change(a[0], c["n"]),
        _shift,
    ),
    # signals
    Function(
        "crosses_above",
        (_x(name="a"), _x(name="b")),
        CONDITION,
        "True on the bar where a moves from at or below b to above b.",
        "a[t] > b[t] and a[t-1] <= b[t-1]",
        "crosses_above(sma(close, 50), sma(close, 200))",
        "Signals",
        lambda a, c: _crosses(a[0], a[1], True),
        lambda c: 1,
    ),
    Function(
        "crosses_below",
        (_x(name="a"), _x(name="b")),
        CONDITION,
        "True on the bar where a moves from at or above b to below b.",
        "a[t] < b[t] and a[t-1] >= b[t-1]",
        "crosses_below(close, sma(close, 20))",
        "Signals",
        lambda a, c: _crosses(a[0], a[1], False),
        lambda c: 1,
    ),
    Function(
        "rising",
        (_x(), _n(1)),
        CONDITION,
        "True when x is above every one of its previous n values.",
        "x[t] > max(x[t-1], ..., x[t-n])",
        "rising(close, 3)",
        "Signals",
        lambda a, c: _rising(a[0], c["n"], True),
        _shift,
    ),
    Function(
        "falling",
        (_x(), _n(1)),
        CONDITION,
        "True when x is below every one of its previous n values.",
        "x[t] < min(x[t-1], ..., x[t-n])",
        "falling(volume, 5)",
        "Signals",
        lambda a, c: _rising(a[0], c["n"], False),
        _shift,
    ),
    Function(
        "between",
        (_x(), _x(name="lo"), _x(name="hi")),
        CONDITION,
        "True when lo <= x <= hi.",
        "lo <= x and x <= hi",
        "between(rsi(14), 40, 60)",
        "Signals",
        lambda a, c: k_and(compare(">=", a[0], a[1]), compare("<=", a[0], a[2])),
        _zero,
    ),
    # math
    Function(
        "abs",
        (_x(),),
        NUMBER,
        "Absolute value.",
        "abs = |x|",
        "abs(change_pct) > 5",
        "Math",
        lambda a, c: np.abs(a[0]),
        _zero,
    ),
    Function(
        "min",
        (_x(name="a"), _x(name="b")),
        NUMBER,
        "The smaller of two values.",
        "min = a if a < b else b",
        "min(open, close) > sma(close, 20)",
        "Math",
        lambda a, c: np.minimum(a[0], a[1]),
        _zero,
    ),
    Function(
        "max",
        (_x(name="a"), _x(name="b")),
        NUMBER,
        "The larger of two values.",
        "max = a if a > b else b",
        "max(open, close) < bb_lower()",
        "Math",
        lambda a, c: np.maximum(a[0], a[1]),
        _zero,
    ),
    Function(
        "round",
        (_x(), Param("digits", CONST, 0.0, 0, 10, "decimal places")),
        NUMBER,
        "Rounds to the given number of decimals (halves away from zero).",
        "round(2.345, 2) = 2.35",
        "round(rsi(14)) == 50",
        "Math",
        lambda a, c: _round(a[0], int(c["digits"])),
        _zero,
    ),
    Function(
        "log",
        (_x(),),
        NUMBER,
        "Natural logarithm (unknown for values <= 0).",
        "log = ln(x)",
        "log(close / ref(close, 1)) > 0.02",
        "Math",
        lambda a, c: _log(a[0]),
        _zero,
    ),
    Function(
        "sqrt",
        (_x(),),
        NUMBER,
        "Square root (unknown for negative values).",
        "sqrt = x^0.5",
        "stdev(close, 20) * sqrt(252) > 5",
        "Math",
        lambda a, c: _sqrt(a[0]),
        _zero,
    ),
)

FUNCTIONS: dict[str, Function] = {f.name: f for f in FUNCTION_LIST}

CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(f.category for f in FUNCTION_LIST))

OPERATORS: tuple[tuple[str, str], ...] = (
    (
        "+ - * / %",
        "arithmetic on numbers; division by zero is unknown (false), not an error",
    ),
    ("> >= < <= == !=", "compare numbers; == and != also compare text (ignoring case)"),
    ("and  or  not", "combine conditions"),
    (
        'in ("A", "B")',
        'text is one of several values: sector in ("Energy", "Utilities")',
    ),
    ("( )", "grouping"),
)
