"""Small helpers shared by benchmarks: median timing and JSON-line output."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable


def median_time(
    fn: Callable[[], object], runs: int = 5, setup: Callable[[], object] | None = None
):
    """Median wall time (seconds) of ``fn()`` over ``runs`` runs; ``setup()`` runs untimed
    before each run."""
    times = []
    for _ in range(runs):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def emit(
    bench: str, metric: str, value: float, unit: str, goal: str | None = None
) -> None:
    """Print one figure as a JSON line."""
    print(
        json.dumps(
            {
                "bench": bench,
                "metric": metric,
                "value": round(value, 4),
                "unit": unit,
                "goal": goal,
            }
        ),
        flush=True,
    )
