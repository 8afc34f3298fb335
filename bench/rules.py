"""bench rules: the rule language's three figures.

* cross-section: 1,000 distinct rules (a mix of the issue's examples with varied parameters
  and thresholds) over 5,000 symbols x 260 bars, fresh data batch per run (no memo carried
  over), rules already compiled (as the alert cycle keeps them): goal <= 2 s; rules/s.
* time series: one entry/exit rule pair over 500 symbols x 2,520 daily bars: goal <= 1 s.
* compile: 10,000 distinct rule texts with a cold cache: goal <= 2 s.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from app.rules import CustomIndicatorSet, SeriesData, clear_cache, compile_rule
from bench._util import median_seconds, report


def _median_with_setup(fn, setup, repeat: int = 5) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()``; ``setup()`` (untimed) runs before each run.

    The CPU figure (this process only) shows how much of the wall time is the machine being
    shared with other work."""
    wall, cpu = [], []
    for _ in range(repeat):
        setup()
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


SECTORS = [
    "Technology",
    "Energy",
    "Healthcare",
    "Financials",
    "Utilities",
    "Industrials",
]
CUSTOM = CustomIndicatorSet(["my_osc(n=14) = (close - sma(close, n)) / atr(n)"])


def make_data(n_symbols: int, n_bars: int, seed: int = 7) -> SeriesData:
    rng = np.random.default_rng(seed)
    vol = rng.uniform(0.01, 0.04, size=(n_symbols, 1))
    close = rng.uniform(5, 500, size=(n_symbols, 1)) * np.exp(
        np.cumsum(rng.normal(0.0003, 1.0, size=(n_symbols, n_bars)) * vol, axis=1)
    )
    open_ = close * np.exp(rng.normal(0, 0.005, size=close.shape))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.02, size=close.shape))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.02, size=close.shape))
    volume = rng.lognormal(13, 1, size=(n_symbols, 1)) * rng.lognormal(0, 0.4, size=close.shape)
    return SeriesData(
        {
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "market_cap": rng.lognormal(22, 1.5, size=n_symbols),
        },
        {"sector": rng.choice(SECTORS, size=n_symbols)},
    )


def rule_texts(count: int, seed: int = 1) -> list[str]:
    """``count`` distinct rules: the issue's examples with realistic parameter choices."""
    rng = np.random.default_rng(seed)
    periods = [5, 10, 20, 50, 100, 200]
    out: dict[str, None] = {}
    templates = [
        lambda: f"close > sma(close, {rng.choice(periods)}) and rsi({rng.choice([7, 14, 21])}) "
        f"< {rng.integers(20, 45)}",
        lambda: "crosses_above(sma(close, {}), sma(close, {})) and volume > {}".format(
            *sorted(rng.choice([10, 20, 50, 100, 200], 2, replace=False)),
            int(rng.integers(1, 100)) * 10_000,
        ),
        lambda: f"volume > {rng.integers(2, 9) / 2} * avg(volume, {rng.choice([10, 20, 50])}) "
        f"and change_pct > {rng.integers(1, 80) / 10}",
        lambda: "(close - lowest(low, {n})) / (highest(high, {n}) - lowest(low, {n})) > {q}".format(
            n=rng.choice([20, 50, 100, 252]), q=rng.integers(50, 99) / 100
        ),
        lambda: f'sector == "{rng.choice(SECTORS)}" and market_cap > {rng.integers(1, 500)}e9',
        lambda: f"my_osc({rng.choice([10, 14, 20])}) > {rng.integers(5, 300) / 100}",
        lambda: f"macd_hist() > 0 and close > ema(close, {rng.choice([12, 26, 50])}) * "
        f"{1 + rng.integers(0, 50) / 1000}",
        lambda: f"between(rsi(14), {rng.integers(20, 50)}, {rng.integers(50, 80)}) and "
        f"close > bb_mid() and atr(14) / close * 100 < {rng.integers(1, 8)}",
    ]
    while len(out) < count:
        out[templates[int(rng.integers(len(templates)))]()] = None
    return list(out)


def run() -> None:
    # cross-section
    texts = rule_texts(1000)
    rules = [compile_rule(t, "condition", CUSTOM) for t in texts]
    base = make_data(5_000, 260)

    def fresh():
        base.cache.clear()

    def cross():
        for r in rules:
            r.evaluate(base)

    fresh()
    cross()
    t, cpu = _median_with_setup(cross, fresh)
    report("rules", "cross_section_1000_rules_5000x260", t, "s", "<= 2 s")
    report("rules", "cross_section_1000_rules_5000x260_cpu", cpu, "s", None)
    report(
        "rules",
        "cross_section_rules_per_second",
        len(rules) / t,
        "rules/s",
        ">= 500 rules/s",
    )

    # time series
    entry = compile_rule("crosses_above(sma(close, 50), sma(close, 200)) and rsi(14) < 70", "condition")
    exit_ = compile_rule(
        "crosses_below(sma(close, 50), sma(close, 200)) or close < highest(close, 20) * 0.9",
        "condition",
    )
    hist = make_data(500, 2520, seed=11)

    def series():
        hist.cache.clear()
        entry.evaluate(hist, "time_series")
        exit_.evaluate(hist, "time_series")

    t = median_seconds(series, repeat=5)
    report("rules", "time_series_rule_pair_500x2520", t, "s", "<= 1 s")

    # compile, cold cache
    many = rule_texts(10_000, seed=2)
    t, cpu = _median_with_setup(lambda: [compile_rule(x, None, CUSTOM) for x in many], clear_cache, 3)
    report("rules", "compile_10000_texts_cold", t, "s", "<= 2 s")
    report("rules", "compile_10000_texts_cold_cpu", cpu, "s", None)
    report("rules", "compile_per_second", len(many) / t, "rules/s", ">= 5000 rules/s")


if __name__ == "__main__":
    run()
