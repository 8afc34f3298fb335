"""Helpers shared by the benchmarks."""
from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def report(bench: str, metric: str, value: float, unit: str, goal: str | None = None) -> None:
    print(json.dumps({"bench": bench, "metric": metric, "value": round(value, 4), "unit": unit, "goal": goal}),
          flush=True)
