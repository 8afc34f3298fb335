"""Metrics against values computed by hand (formulas in app/paper/metrics.py)."""
from __future__ import annotations

import math

import pytest

from app.paper import metrics as m


def test_returns():
    eq = [100, 110, 99, 121]
    assert m.total_return(eq) == pytest.approx(0.21)
    assert m.daily_returns(eq).tolist() == pytest.approx([0.1, -0.1, 121 / 99 - 1])
    assert m.annualised_return([100, 105], periods_per_year=2) == pytest.approx(0.1025)  # 1.05^2 - 1
    assert m.annualised_return([100, 121, 100 * 1.1 ** 4], periods_per_year=1) == pytest.approx(0.21)  # 1.4641^(1/2) - 1
    assert m.total_return([100]) is None and m.annualised_return([]) is None


def test_sharpe_and_sortino():
    r = [0.01, 0.03, -0.01]
    # mean 0.01, sample sd 0.02 -> 0.5 * sqrt(252)
    assert m.sharpe(r) == pytest.approx(0.5 * math.sqrt(252))
    # rf 2.52 % a year = 0.0001 a day -> 0.0099 / 0.02 * sqrt(252)
    assert m.sharpe(r, risk_free=0.0252) == pytest.approx(0.495 * math.sqrt(252))
    # downside deviation sqrt(0.01^2 / 3) -> 0.01 / (0.01 / sqrt 3) * sqrt(252) = sqrt(756)
    assert m.sortino(r) == pytest.approx(math.sqrt(756))
    assert m.sharpe([0.01]) is None and m.sharpe([0.01, 0.01]) is None
    assert m.sortino([0.01, 0.02]) is None  # no downside


def test_drawdown_and_calmar():
    eq = [100, 120, 90, 95, 130, 117]
    dd = m.max_drawdown(eq)
    assert dd.max_drawdown == pytest.approx(-0.25)
    assert (dd.peak_index, dd.trough_index, dd.duration, dd.recovered) == (1, 2, 2, True)
    assert m.max_drawdown([100, 90, 80]).recovered is False
    assert m.max_drawdown([100, 90, 80]).duration == 2
    assert m.max_drawdown([1, 2, 3]).max_drawdown == 0.0
    # growth 1.17 over 5 periods with 5 periods a year -> 17 % / 25 %
    assert m.calmar(eq, periods_per_year=5) == pytest.approx(0.68)
    assert m.calmar([1, 2, 3]) is None


def test_trade_statistics():
    pnls = [100, -50, 0, 200, -25]
    assert m.win_rate(pnls) == pytest.approx(0.4)
    assert m.profit_factor(pnls) == pytest.approx(4.0)  # 300 / 75
    assert m.expectancy(pnls) == pytest.approx(45.0)
    assert m.average_win(pnls) == pytest.approx(150.0)
    assert m.average_loss(pnls) == pytest.approx(-37.5)
    assert m.win_loss_ratio(pnls) == pytest.approx(4.0)
    assert m.profit_factor([10, 0]) == m.NO_LOSSES == "no losses"
    assert m.profit_factor([]) is None and m.profit_factor([0]) is None
    assert m.win_rate([]) is None and m.average_loss([5]) is None


def test_exposure():
    assert m.exposure(25, 100) == 0.25
    assert m.exposure_from_intervals([10, 20, 60], [30, 40, 70], 0, 100) == pytest.approx(0.4)
    assert m.exposure_from_intervals([], [], 0, 100) == 0.0
    assert m.exposure_from_intervals([-50], [500], 0, 100) == 1.0


def test_summary_keys():
    s = m.summary([100, 101, 99, 103], [5, -2])
    assert s["trades"] == 2 and s["days"] == 3
    assert s["total_return"] == pytest.approx(0.03)
