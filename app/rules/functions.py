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

import math
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

#: Recursive smoothers (EMA, Wilder's RSI/ATR, MACD) follow TA-Lib: seeded with the mean of
#: the first n values of whatever history they are given, so a value depends on where that
#: history starts. Started k bars later than the full history, the value differs from the
#: full-history one (TA-Lib's, the backtest engine's) by (1 - alpha)^k times the seed's
#: difference. TA-Lib calls the bars needed to settle the "unstable period"; ours is the k
#: that brings that factor under CONVERGENCE, so a formula given its warm-up
#: (:meth:`app.rules.compiler.CompiledRule.history_bars`) agrees with the full history to
#: far better than 1e-9 for every window up to MAX_WINDOW.
CONVERGENCE = 1e-14


def unstable_period(alpha: float) -> int:
    """Bars after the seed until a smoother with ``alpha`` forgets its seed to CONVERGENCE
    (none for ``alpha = 1``: each value is the newest input)."""
    if alpha >= 1.0:
        return 0
    return math.ceil(math.log(CONVERGENCE) / math.log1p(-alpha))


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
    # past bars a FULL-lookback function needs for its last value to equal the full-history
    # one (to CONVERGENCE): TA-Lib's lookback plus the unstable period
    warmup: Callable[[dict], int] | None = field(repr=False, compare=False, default=None)
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


def _ema_warmup(c):
    return c["n"] - 1 + unstable_period(2.0 / (c["n"] + 1))


def _wilder_warmup(c):  # RSI and ATR: one bar for the first difference, then Wilder's 1/n
    return c["n"] + unstable_period(1.0 / c["n"])


def _macd_warmup(c):
    slow, signal = max(c["fast"], c["slow"]), c["signal"]
    return (slow - 1 + unstable_period(2.0 / (slow + 1))
            + signal - 1 + unstable_period(2.0 / (signal + 1)))


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
        details=(
            "Adds up the last n values and divides by n. Every bar in the window counts the same, so the line is smooth "
            "but turns late: it trails the price by about (n - 1) / 2 bars."
        ),
        usage=(
            "Use it as a trend filter (`close > sma(close, 200)` before taking long setups), as a crossover pair "
            "(`crosses_above(sma(close, 50), sma(close, 200))` is the golden cross) or as a pullback area in a trend. "
            "Common windows: 20 bars (a month of daily bars), 50 (a quarter), 200 (a trading year)."
        ),
        mistakes=(
            (
                "Trading every crossover in a sideways market: the lines cross back and forth and each cross is a small "
                "loss."
            ),
            "Reading the average as an exact support price; it is an area, not a wall.",
            "Forgetting the warm-up: with fewer than n bars the value is unknown and a condition using it is false.",
        ),
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
        details=(
            "The same computation as sma under a name that reads naturally for values that are not prices, such as "
            "volume: the mean of the last n values, each weighted equally."
        ),
        usage=(
            "Compare a value with its own normal level: `volume > 3 * avg(volume, 20)` finds unusual volume; `avg(volume,"
            " 20) > 500000` keeps only liquid stocks."
        ),
        mistakes=(
            "Comparing raw volume across stocks instead of each stock's volume with its own average.",
            (
                "Forgetting that the window includes the current bar: for 'today versus the previous 20 days' use "
                "`ref(avg(volume, 20), 1)`."
            ),
            "Very short windows (under about 10 bars) are dominated by single unusual days.",
        ),
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
        warmup=_ema_warmup,
        details=(
            "Each new value moves the average a fixed share alpha = 2 / (n + 1) of the way towards the latest value, so "
            "recent bars weigh more and older bars fade geometrically. It starts from the simple average of the first n "
            "values (the TA-Lib convention) and then updates bar by bar."
        ),
        usage=(
            "Use an EMA where reaction speed matters: the short-term trend (`ema(close, 12) > ema(close, 26)`, which is "
            "exactly `macd() > 0`), trailing exits, or a faster version of the moving-average filters."
        ),
        mistakes=(
            (
                "Expecting identical values on another platform: an EMA depends on where it was seeded and on how much "
                "history was used; the difference fades after a few times n bars."
            ),
            (
                "Assuming `ema(close, n)` and `sma(close, n)` describe the same horizon: the EMA leans towards the most "
                "recent bars."
            ),
            "Stacking several EMAs and optimising every window: more parameters, more overfitting.",
        ),
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
        details=(
            "Weights fall linearly: the newest value counts n times, the one before n - 1 times, down to 1 for the "
            "oldest, and the sum is divided by n(n + 1) / 2. It follows the price more closely than an SMA of the same "
            "length and, unlike an EMA, forgets bars older than n completely."
        ),
        usage=(
            "Use it when you want an average that hugs the price without the long memory of an EMA, for example `close > "
            "wma(close, 20)` as a short-term trend filter."
        ),
        mistakes=(
            (
                "Treating sma, ema and wma of the same n as interchangeable: the three lines differ, most at turning "
                "points."
            ),
            "Very short windows (n under 5), where the WMA is almost the price itself.",
            "Forgetting that n bars of history are needed before the first value.",
        ),
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
        warmup=_wilder_warmup,
        details=(
            "Compares the size of recent up-moves with recent down-moves. Each bar's gain and loss are averaged with "
            "Wilder's smoothing (alpha = 1/n); the RSI is the gains' share of the total, scaled to 0-100. Only gains give"
            " 100, only losses 0, balance gives 50."
        ),
        usage=(
            "Classic thresholds: below 30 is oversold, above 70 overbought (the screener's presets). It is safer in the "
            "direction of the trend: `close > sma(close, 200) and rsi(14) < 30` looks for pullbacks within uptrends. In "
            "uptrends the RSI tends to hold 40-50 on dips; `crosses_above(rsi(14), 30)` marks leaving oversold."
        ),
        mistakes=(
            "Selling every reading above 70 in a strong uptrend: the RSI can stay overbought for weeks.",
            "Buying every reading below 30 in a downtrend: oversold can become more oversold.",
            (
                "Comparing values computed over different windows: `rsi(2)` reaches its extremes constantly, `rsi(14)` "
                "rarely."
            ),
        ),
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
        _macd_warmup,
        details=(
            "The gap between a fast and a slow EMA of the series. It is positive while the short-term trend runs above "
            "the long-term one, and its distance from zero grows as the trend accelerates. With the defaults it is "
            "`ema(close, 12) - ema(close, 26)`."
        ),
        usage=(
            "`macd() > 0` as a trend filter; `crosses_above(macd(), macd_signal())` for momentum turning up. Compare "
            "across stocks only after dividing by the price: `macd() / close * 100`."
        ),
        mistakes=(
            (
                "Comparing MACD values of different stocks: the line is in price units, so expensive stocks have larger "
                "MACDs."
            ),
            "Trading every cross in a sideways market, where the lines cross constantly.",
            "Setting fast longer than slow: the checker refuses it (`fast` must be shorter than `slow`).",
        ),
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
        _macd_warmup,
        details=(
            "An EMA of the MACD line itself (9 bars by default): a slower copy of the MACD that the line crosses when "
            "momentum changes direction."
        ),
        usage=(
            "Use it as the trigger line: `crosses_above(macd(), macd_signal())` signals momentum turning up, "
            "`crosses_below(macd(), macd_signal())` turning down. Pair it with a trend filter such as `close > sma(close,"
            " 200)`."
        ),
        mistakes=(
            (
                "Using different fast, slow or signal settings for `macd()` and `macd_signal()` in one formula: they must"
                " match to describe the same MACD."
            ),
            "Acting on crosses near zero in flat markets, where they are frequent and meaningless.",
            "Forgetting the lag: the signal line is an average of a difference of averages.",
        ),
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
        _macd_warmup,
        details=(
            "The distance between the MACD line and its signal line. Positive while the MACD is above its signal; growing"
            " bars mean momentum is accelerating, shrinking bars that it is fading, usually before the lines cross."
        ),
        usage=(
            "`macd_hist() > 0` is the same as the MACD being above its signal. A histogram that turns up while still "
            "below zero, `macd_hist() < 0 and macd_hist() > ref(macd_hist(), 1)`, is an early sign of momentum turning."
        ),
        mistakes=(
            "Reading a shrinking histogram as a reversal: it only says momentum is slowing.",
            "Comparing histogram values across stocks: like the MACD it is in price units.",
            "Mixing parameter sets between `macd_hist()` and the other MACD functions.",
        ),
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
        warmup=_wilder_warmup,
        details=(
            "The true range of a bar is the largest of high - low, |high - previous close| and |low - previous close|, so"
            " overnight gaps count. The ATR is Wilder's average of the true range over n bars: the typical distance a "
            "stock moves in one bar, in dollars."
        ),
        usage=(
            "Size stops to the stock's noise (a stop 2 x ATR below the entry), size positions (a wider stop means fewer "
            "shares), and screen for movement in percent of the price: `atr(14) / close * 100 > 3`."
        ),
        mistakes=(
            "Comparing ATRs in dollars across stocks of different prices; use `atr(14) / close * 100`.",
            (
                "Reading the ATR as a direction: it measures only the size of moves, and falling stocks often have rising"
                " ATRs."
            ),
            "Stops closer than about one ATR, which ordinary daily movement hits.",
        ),
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
        details=(
            "The moving average plus k population standard deviations of the last n values (20 and 2 by default, as John "
            "Bollinger defined the bands). It widens when prices swing and narrows when they calm down."
        ),
        usage=(
            "`close > bb_upper()` flags an unusually strong close relative to the last n bars: a breakout after a "
            "squeeze, or overextension in a range. The band width `(bb_upper() - bb_lower()) / bb_mid()` finds squeezes "
            "when it is at its lowest in months."
        ),
        mistakes=(
            "Selling every touch: in strong trends prices 'walk the band' for weeks.",
            (
                "Assuming 95 % of closes stay inside the bands: that holds for normally distributed data, and returns "
                "have fatter tails."
            ),
            "Using a different n or k for the upper and the lower band in one formula.",
        ),
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
        details=(
            "The centre line of the Bollinger bands: the simple moving average of the last n values (20 by default), "
            "identical to `sma(x, n)`."
        ),
        usage=(
            "Mean-reversion exits (`close > bb_mid()` after buying near the lower band) and trend context (prices holding"
            " above the middle band in an uptrend)."
        ),
        mistakes=(
            "Forgetting that it is an SMA and lags like one.",
            "Pairing `bb_mid(close, 20)` with bands of another length.",
            "Expecting prices to return to the middle band during a strong trend.",
        ),
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
        details=(
            "The moving average minus k population standard deviations of the last n values (20 and 2 by default). A "
            "close below it is unusually weak relative to the recent average and spread."
        ),
        usage=(
            "Mean reversion within uptrends: `close < bb_lower() and close > sma(close, 200)` finds stretched dips in "
            "stocks that are still in a long-term uptrend; a common exit is back at `bb_mid()`."
        ),
        mistakes=(
            "Buying every close below the band in a downtrend: prices can walk down the lower band.",
            "Ignoring why the band was broken: a break on news behaves differently from a slow drift.",
            "A k below about 1.5, which flags ordinary days as unusual.",
        ),
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
        details=(
            "The population standard deviation (dividing by n) of the last n values: how widely they spread around their "
            "mean. Applied to prices it is in dollars; applied to returns, `pct_change(close, 1)`, it is volatility in "
            "percent."
        ),
        usage=(
            "Daily return volatility: `stdev(pct_change(close, 1), 20)`; annualised, multiply by `sqrt(252)`. Relative "
            "calm before a breakout: `stdev(close, 20) / close < 0.01`."
        ),
        mistakes=(
            (
                "Calling the standard deviation of prices 'volatility': it depends on the trend and the price level; use "
                "returns."
            ),
            "Annualising daily values with `sqrt(365)`: a trading year has about 252 days.",
            "Expecting the sample value (dividing by n - 1) that some tools show: this is the population value.",
        ),
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
        details="The maximum of the last n values, the current bar included.",
        usage=(
            "Breakouts: `close > ref(highest(high, 20), 1)` closes above the previous 20-bar high (a Donchian breakout). "
            "52-week highs: `highest(high, 252)`. Trailing stops: `highest(close, 20) - 3 * atr(14)`."
        ),
        mistakes=(
            (
                "Comparing the current close with a window that includes the current bar: `close > highest(high, 20)` can"
                " never be true because the bar's high is at least its close; shift the window with `ref(highest(high, "
                "20), 1)`."
            ),
            "Using `highest(close, n)` when the intraday high is meant: `highest(high, n)`.",
            "Forgetting that a 52-week window needs 252 bars of history before it has a value.",
        ),
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
        details="The minimum of the last n values, the current bar included.",
        usage=(
            "Breakdowns: `close < ref(lowest(low, 20), 1)`. Position in the yearly range: `(close - lowest(low, 252)) / "
            "(highest(high, 252) - lowest(low, 252))` is 0 at the 52-week low and 1 at the high. Stops below structure: "
            "`lowest(low, 10)`."
        ),
        mistakes=(
            (
                "Comparing the current close with a window that includes the current bar: `close < lowest(low, 20)` can "
                "never be true; use `ref(lowest(low, 20), 1)`."
            ),
            "Using `lowest(close, n)` when the intraday low is meant: `lowest(low, n)`.",
            "Forgetting the warm-up: n bars are needed before the first value.",
        ),
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
        details="Adds up the last n values.",
        usage=(
            "Totals over a period: `sum(volume, 5) > 1e7` (ten million shares in five bars). Sums of changes telescope: "
            "`sum(change(close, 1), 10)` equals `change(close, 10)`."
        ),
        mistakes=(
            (
                "Comparing a sum with an average of another length: `sum(volume, 5)` must be compared with `5 * "
                "avg(volume, 20)`, not `avg(volume, 20)`."
            ),
            "Comparing raw sums across stocks of very different size or price.",
            "Forgetting the warm-up: n bars are needed before the first value.",
        ),
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
        details="The value n bars before the current one: on daily bars `ref(close, 1)` is the previous close.",
        usage=(
            "Compare with the past: `close > ref(close, 5)`. Shift a window so it excludes the current bar: `close > "
            "ref(highest(high, 20), 1)`. Detect a change of state: `ref(rsi(14), 1) < 30 and rsi(14) >= 30`."
        ),
        mistakes=(
            "Off-by-one errors: a five-bar comparison uses `ref(close, 5)`, not `ref(close, 4)`.",
            "On intraday bars n counts bars, not days.",
            "A stock with fewer than n + 1 bars has no value yet, and the condition is false.",
        ),
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
        details="The difference between the value now and n bars ago, in the series' units (dollars for prices).",
        usage=(
            "`change(close, 1) > 0` for an up bar; `change(close, 5) > 0` for a close above the one five bars ago. Use "
            "pct_change to compare stocks of different prices."
        ),
        mistakes=(
            (
                "Comparing dollar changes across stocks of different prices: a 2 dollar move is large for a 20 dollar "
                "stock and small for a 500 dollar one."
            ),
            "Confusing `change(close, 1)`, close to close, with the bar's own move from the open: `close - open`.",
            "Forgetting that n defaults to 1: `change(close)` is a one-bar change.",
        ),
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
        details=(
            "(value now / value n bars ago - 1) x 100: the percentage change over n bars; unknown when the old value is "
            "0."
        ),
        usage=(
            "Momentum screens: `pct_change(close, 20) > 10` finds stocks up more than 10 % over 20 bars (about a month). "
            "Daily returns for volatility: `stdev(pct_change(close, 1), 20)`."
        ),
        mistakes=(
            "Adding percentages over periods: +10 % then -10 % is -1 %, not 0.",
            "Confusing it with the field `change_pct`, which is the latest change against the previous close.",
            "Ignoring splits and dividends when the bars are not adjusted for them.",
        ),
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
        details=(
            "True only on the bar where a moves from at or below b to above b: one bar, not every bar on which a is above"
            " b."
        ),
        usage=(
            "Event signals for alerts and entries: `crosses_above(sma(close, 50), sma(close, 200))` (the golden cross), "
            "`crosses_above(close, bb_upper())`, `crosses_above(rsi(14), 30)` (leaving oversold)."
        ),
        mistakes=(
            (
                "Using a cross where a state is meant: for 'above the 200-day average' write `close > sma(close, 200)`; "
                "the cross is true on one bar only."
            ),
            "Expecting a cross on a bar after missing data: the previous bar's values must be known too.",
            (
                "Crossing a window that includes the current bar, such as `crosses_above(close, highest(high, 20))`, "
                "which can never be true; use `ref(highest(high, 20), 1)`."
            ),
        ),
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
        details=(
            "True only on the bar where a moves from at or above b to below b: one bar, not every bar on which a is below"
            " b."
        ),
        usage=(
            "Exit and warning signals: `crosses_below(close, sma(close, 20))` (losing the short-term trend), "
            "`crosses_below(sma(close, 50), sma(close, 200))` (the death cross), `crosses_below(rsi(14), 70)` (leaving "
            "overbought)."
        ),
        mistakes=(
            "Using a cross where a state is meant: for 'below the 50-day average' write `close < sma(close, 50)`.",
            "Expecting a cross on a bar after missing data: the previous bar's values must be known too.",
            (
                "Crossing a window that includes the current bar, such as `crosses_below(close, lowest(low, 20))`, which "
                "can never be true; use `ref(lowest(low, 20), 1)`."
            ),
        ),
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
        details=(
            "True when the current value is strictly above each of the previous n values: a new n-bar high of the series "
            "itself."
        ),
        usage=(
            "`rising(close, 3)`: a close above each of the last three closes. `rising(sma(close, 50), 5)`: the 50-day "
            "average is turning up."
        ),
        mistakes=(
            "Reading it as 'higher than n bars ago': the value must exceed every one of the previous n values.",
            "Large n on noisy series, where it is rarely true.",
            "Equal values do not count: a flat series is neither rising nor falling.",
        ),
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
        details=(
            "True when the current value is strictly below each of the previous n values: a new n-bar low of the series "
            "itself."
        ),
        usage=(
            "`falling(volume, 5)`: volume drying up, typical of healthy pullbacks. `falling(sma(close, 200), 10)`: the "
            "long-term average is declining; avoid long trades."
        ),
        mistakes=(
            "Reading it as 'lower than n bars ago': the value must be below every one of the previous n values.",
            "Large n on noisy series, where it is rarely true.",
            "Equal values do not count: a flat series is neither rising nor falling.",
        ),
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
        details="True when lo <= x <= hi, both bounds included.",
        usage=(
            "Ranges: `between(rsi(14), 40, 60)` for neutral momentum; `between(close, 5, 50)` for a price band. Bounds "
            "may be series: `between(close, bb_lower(), bb_upper())` is inside the Bollinger bands."
        ),
        mistakes=(
            "Passing the bounds in the wrong order: `between(x, 60, 40)` is never true.",
            "Forgetting that both bounds are included.",
            "An unknown x or bound gives unknown, which counts as false.",
        ),
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
        details="The size of a value without its sign.",
        usage=(
            "Large moves in either direction: `abs(change_pct) > 5`. Distance from an average on either side, in ATRs: "
            "`abs(close - sma(close, 20)) / atr(14) > 2`."
        ),
        mistakes=(
            "Losing the direction you needed: `abs(change_pct) > 5` includes crashes as well as rallies.",
            "Comparing absolute dollar amounts across stocks of different prices.",
        ),
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
        details="The smaller of two values, bar by bar.",
        usage=(
            "The bottom of a candle's body: `min(open, close)`. The lower of two support levels: `min(sma(close, 50), "
            "lowest(low, 20))`, for a stop below both."
        ),
        mistakes=(
            (
                "Confusing `min(a, b)` with `lowest(x, n)`: min compares two values on the same bar, lowest looks back "
                "over n bars."
            ),
            "Passing more than two values: nest the calls, `min(a, min(b, c))`.",
        ),
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
        details="The larger of two values, bar by bar.",
        usage=(
            "The top of a candle's body: `max(open, close)`. A floor under a value: `max(atr(14), 0.5)` uses at least "
            "0.5."
        ),
        mistakes=(
            (
                "Confusing `max(a, b)` with `highest(x, n)`: max compares two values on the same bar, highest looks back "
                "over n bars."
            ),
            "Passing more than two values: nest the calls, `max(a, max(b, c))`.",
        ),
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
        details="Rounds to the given number of decimals; halves go away from zero (2.5 becomes 3, -2.5 becomes -3).",
        usage=(
            "Compare at a coarser precision: `round(rsi(14)) == 50`, or `round(close, 1) == round(sma(close, 20), 1)` for"
            " 'at the average'."
        ),
        mistakes=(
            "Comparing unrounded decimals with ==: computed values rarely equal an exact number.",
            "Expecting banker's rounding (halves to the even number) as in some tools.",
            "digits is a constant from 0 to 10, not a series.",
        ),
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
        details="The natural logarithm (base e). Unknown for zero and negative values.",
        usage=(
            "Log returns: `log(close / ref(close, 1))` is close to the return as a fraction (about 0.02 for a 2 % move) "
            "when moves are small, and log returns add up over time, so `log(close / ref(close, 20))` is the sum of the "
            "20 daily ones."
        ),
        mistakes=(
            (
                "Taking the log of something that can be zero or negative, such as a change: the value is unknown and the"
                " condition false."
            ),
            "Confusing the natural log with log base 10: `log(100)` is about 4.6, not 2.",
        ),
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
        details="The square root. Unknown for negative values.",
        usage=(
            "Scale volatility with time: daily return volatility times `sqrt(252)` is about the annual figure, so "
            "`stdev(pct_change(close, 1), 20) * sqrt(252) > 40` finds stocks with annualised volatility above 40 %."
        ),
        mistakes=(
            "Taking the square root of something that can be negative: the value is unknown and the condition false.",
            "Annualising the standard deviation of prices instead of returns.",
        ),
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
