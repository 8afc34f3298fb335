"""One home per metric: the batch equity statistics (the leaderboard's) equal the single-curve
functions of app.paper.metrics bit for bit, and both equal hand-computed values."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from app.paper import metrics as m


def _curves() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    out = [100000 * np.cumprod(1 + rng.normal(0.0005, 0.01, n)) for n in (2, 3, 5, 21, 21, 21, 253, 253)]
    out += [np.array([100.0]), np.array([]), np.array([0.0, 10.0, 20.0]), np.array([100.0, 100.0, 100.0]),
            np.array([100.0, 50.0, -10.0, 5.0]), np.array([100.0, 120.0, 90.0, 130.0])]
    return out


def test_batch_equals_single_curve_functions_exactly():
    curves = _curves()
    batch = m.equity_stats_many(curves)
    assert len(batch) == len(curves)
    for e, got in zip(curves, batch, strict=True):
        dd = m.max_drawdown(e)
        want = m.EquityStats(m.annualised_return(e), None if dd is None else abs(dd.max_drawdown),
                             m.sharpe(m.daily_returns(e)))
        assert got == want, e  # == on floats: bit-identical, None where the single one is None


def test_existing_values_by_hand():
    e = [100.0, 120.0, 90.0, 130.0]
    got = m.equity_stats_many([e])[0]
    assert got.annualised_return == pytest.approx(1.3 ** (252 / 3) - 1)
    assert got.max_drawdown == pytest.approx(0.25)
    r = np.array([0.2, -0.25, 130 / 90 - 1])
    assert got.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(252))
    flat = m.equity_stats_many([[100.0, 100.0, 100.0]])[0]
    assert flat == m.EquityStats(0.0, 0.0, None)  # no volatility: no Sharpe
    assert m.equity_stats_many([[100.0]])[0] == m.EquityStats(None, None, None)


def test_drawdown_series_and_longest_run():
    np.testing.assert_allclose(m.drawdown_series([100, 120, 90, 130, 117]), [0, 0, -25, 0, -10])
    assert m.longest_run(np.array([True, True, False, True, True, True, False])) == 3
    assert m.longest_run(np.array([], dtype=bool)) == 0
    assert m.max_drawdown([100, 90, 95, 101, 99, 98, 97, 120]).duration == 3


def test_monthly_returns():
    days = [dt.date(2026, 1, 2), dt.date(2026, 1, 30), dt.date(2026, 2, 27), dt.date(2026, 12, 31),
            dt.date(2027, 1, 29)]
    got = m.monthly_returns(days, [100.0, 110.0, 99.0, 99.0, 108.9])
    assert [g["year"] for g in got] == [2026, 2027]
    assert got[0]["months"][0] == pytest.approx(0.10) and got[0]["months"][1] == pytest.approx(-0.10)
    assert got[0]["months"][2] is None  # a month without a point
    assert got[1]["months"][0] == pytest.approx(0.10) and got[1]["months"][5] is None
    assert m.monthly_returns([], []) == []


def test_routes_and_the_scorer_use_the_metrics_module():
    """No metric math left in the strategies routes; the scorer's batch stats come from here."""
    import inspect

    from app.strategies import routes, scoring

    src = inspect.getsource(routes)
    assert "np.maximum.accumulate" not in src and "resample(" not in src
    assert "_equity_stats" not in inspect.getsource(scoring)
    assert "m.equity_stats_many" in inspect.getsource(scoring.compute_many)
