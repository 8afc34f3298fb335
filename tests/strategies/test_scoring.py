"""Every score component against hand-computed values, with its caps and floors."""
from __future__ import annotations

import numpy as np
import pytest

from app.strategies import scoring
from app.strategies.scoring import Inputs, compute


def subs(result, component):
    return result["components"][component]["subs"]


def base(**kw):
    eq = [100.0, 101.0, 100.5, 102.0]
    d = {"equity": eq, "pnls": [10, -5, 20], "pnl_pcts": [0.1, -0.05, 0.2], "sessions": 15, "benchmark": None}
    d.update(kw)
    return Inputs(**d)


def test_weights_and_formula():
    assert scoring.WEIGHTS == {"performance": 0.30, "risk": 0.25, "consistency": 0.20, "efficiency": 0.15,
                               "community": 0.10}
    assert sum(scoring.WEIGHTS.values()) == pytest.approx(1.0)


def test_performance_hand_computed():
    # 3 daily returns: growth 1.02 -> annualised 1.02 ** (252 / 3) - 1 (huge): capped at 50
    r = compute(base())
    p = subs(r, "performance")
    assert p["annual_return"]["points"] == 50
    # profit factor = 30 / 5 = 6 -> capped at 30
    assert p["profit_factor"]["value"] == 6.0 and p["profit_factor"]["points"] == 30
    assert p["benchmark"]["points"] == 0 and "SPY" in p["benchmark"]["why"]
    # a year of equity: +25 % -> 25 pts; PF 1.5 -> 15 pts
    eq = np.linspace(100, 125, 253)
    r = compute(base(equity=eq, pnls=[15, -10], pnl_pcts=[0.15, -0.1]))
    p = subs(r, "performance")
    assert p["annual_return"]["points"] == pytest.approx(25.0)
    assert p["profit_factor"]["points"] == pytest.approx(15.0)
    # benchmark +10 % a year: excess 15 pp -> 20 x 15 / 20 = 15
    bench = np.linspace(100, 110, 253)
    r = compute(base(equity=eq, pnls=[15, -10], pnl_pcts=[0.15, -0.1], benchmark=bench))
    assert subs(r, "performance")["benchmark"]["points"] == pytest.approx(15.0)
    assert r["components"]["performance"]["score"] == pytest.approx(55.0)
    # beaten by the benchmark: floored at 0, never negative
    r = compute(base(equity=eq, pnls=[15, -10], pnl_pcts=[0.15, -0.1], benchmark=np.linspace(100, 200, 253)))
    assert subs(r, "performance")["benchmark"]["points"] == 0


def test_no_losses_gets_full_profit_factor_and_win_loss():
    r = compute(base(pnls=[5, 7], pnl_pcts=[0.05, 0.07]))
    assert subs(r, "performance")["profit_factor"]["value"] == "no losses"
    assert subs(r, "performance")["profit_factor"]["points"] == 30
    assert subs(r, "efficiency")["win_loss"]["points"] == 50


def test_risk_hand_computed():
    # alternate +1 % / -0.5 %: sharpe from the paper metrics, drawdown 0.5 %
    eq = [100.0]
    for i in range(60):
        eq.append(eq[-1] * (1.01 if i % 2 == 0 else 0.995))
    r = compute(base(equity=eq))
    rk = subs(r, "risk")
    from app.paper import metrics as m

    sh = m.sharpe(m.daily_returns(eq))
    assert rk["sharpe"]["points"] == pytest.approx(50 * min(sh / 3, 1))
    assert rk["max_drawdown"]["points"] == 30  # |DD| 0.5 % <= 10 %
    # drawdown of 30 %: 30 x (50 - 30) / 40 = 15; recovery = annual / 0.3
    eq = np.r_[np.linspace(100, 200, 127), np.linspace(200, 140, 63), np.linspace(140, 150, 63)]
    r = compute(base(equity=eq))
    rk = subs(r, "risk")
    assert rk["max_drawdown"]["value"] == pytest.approx(-0.30)
    assert rk["max_drawdown"]["points"] == pytest.approx(15.0)
    ann = m.annualised_return(eq)
    assert rk["recovery"]["value"] == pytest.approx(ann / 0.30)
    assert rk["recovery"]["points"] == pytest.approx(20 * min(ann / 0.30 / 5, 1))
    # 60 % drawdown -> 0 (floored)
    r = compute(base(equity=[100, 40, 45]))
    assert subs(r, "risk")["max_drawdown"]["points"] == 0
    assert subs(r, "risk")["recovery"]["points"] == 0
    # no drawdown at all, positive return: full recovery points
    r = compute(base(equity=[100, 101, 102]))
    assert subs(r, "risk")["recovery"]["points"] == 20


def test_consistency_hand_computed():
    # 7 wins of 10 -> 70 % -> 60 pts; CV of returns
    pcts = np.array([0.05, 0.04, 0.06, 0.05, 0.05, 0.04, 0.06, -0.01, -0.02, -0.01])
    pnls = pcts * 1000
    r = compute(base(pnls=pnls, pnl_pcts=pcts))
    c = subs(r, "consistency")
    assert c["win_rate"]["points"] == pytest.approx(60.0)
    cv = pcts.std(ddof=1) / pcts.mean()
    assert c["stability"]["value"] == pytest.approx(cv)
    assert c["stability"]["points"] == pytest.approx(40 * min(max((2 - cv) / 1.5, 0), 1))
    # 35 % win rate -> 30 pts
    r = compute(base(pnls=[1] * 7 + [-1] * 13, pnl_pcts=[0.01] * 7 + [-0.01] * 13))
    assert subs(r, "consistency")["win_rate"]["points"] == pytest.approx(30.0)
    # very steady returns: CV < 0.5 -> the full 40
    steady = [0.02, 0.021, 0.019, 0.02, 0.02, 0.0205, 0.0195, 0.02, 0.02, 0.02]
    assert subs(compute(base(pnls=steady, pnl_pcts=steady)), "consistency")["stability"]["points"] == 40


def test_stability_needs_ten_trades_and_a_positive_mean():
    r = compute(base(pnls=[1] * 9, pnl_pcts=[0.01] * 9))
    s = subs(r, "consistency")["stability"]
    assert s["points"] == 0 and "10 trades" in s["why"]
    r = compute(base(pnls=[-1] * 12, pnl_pcts=[-0.01] * 12))
    assert subs(r, "consistency")["stability"]["points"] == 0


def test_efficiency_hand_computed():
    # avg win 30, avg loss -20 -> 1.5 -> 25 pts; 6 trades over 10 sessions = 3 a week -> 30;
    # costs 6 on gross profit 60 -> 10 % -> 20 - 10 = 10 pts
    r = compute(base(pnls=[20, 40, -20, -20, -20, -20], pnl_pcts=[0.02, 0.04, -0.02, -0.02, -0.02, -0.02],
                     sessions=10, costs=6.0))
    e = subs(r, "efficiency")
    assert e["win_loss"]["points"] == pytest.approx(25.0)
    assert e["frequency"]["value"] == pytest.approx(3.0) and e["frequency"]["points"] == 30
    assert e["cost_drag"]["value"] == pytest.approx(10.0) and e["cost_drag"]["points"] == pytest.approx(10.0)
    assert r["components"]["efficiency"]["score"] == pytest.approx(65.0)
    # half a trade a week -> 15; 7.5 a week -> 30 x (10 - 7.5) / 5 = 15; 12 a week -> 0
    assert subs(compute(base(pnls=[1], pnl_pcts=[0.01], sessions=10)), "efficiency")["frequency"]["points"] == 15
    assert subs(compute(base(pnls=[1] * 15, pnl_pcts=[0.01] * 15, sessions=10)),
                "efficiency")["frequency"]["points"] == pytest.approx(15.0)
    assert subs(compute(base(pnls=[1] * 24, pnl_pcts=[0.01] * 24, sessions=10)),
                "efficiency")["frequency"]["points"] == 0
    # costs above 20 % of gross profit: floored at 0
    assert subs(compute(base(costs=100.0)), "efficiency")["cost_drag"]["points"] == 0


def test_community_hand_computed():
    r = compute(base(clones=4, average_rating=4.0, ratings=3, viewers=50))
    c = subs(r, "community")
    assert c["clones"]["points"] == pytest.approx(20.0)
    assert c["rating"]["points"] == pytest.approx(32.0)
    assert c["viewers"]["points"] == pytest.approx(5.0)
    assert r["components"]["community"]["score"] == pytest.approx(57.0)
    # caps
    r = compute(base(clones=50, average_rating=5.0, ratings=9, viewers=5000))
    assert r["components"]["community"]["score"] == 100
    # no ratings -> 0 and says why
    r = compute(base())
    assert subs(r, "community")["rating"]["points"] == 0 and subs(r, "community")["rating"]["why"] == "no ratings yet"


def test_total_is_the_weighted_sum_and_stays_in_0_100():
    r = compute(base(clones=4, average_rating=4.0, ratings=3, viewers=50))
    expected = sum(scoring.WEIGHTS[k] * c["score"] for k, c in r["components"].items())
    assert r["score"] == pytest.approx(round(expected, 2))
    # a disaster: every loss, crash, no data anywhere -> 0, never negative
    r = compute(Inputs(equity=[100, 50, 20, 10], pnls=[-10] * 40, pnl_pcts=[-0.5] * 40, sessions=3, costs=1e6))
    assert r["score"] == 0.0
    for c in r["components"].values():
        assert 0 <= c["score"] <= 100
        for s in c["subs"].values():
            assert 0 <= s["points"] <= s["max"]
    # everything perfect -> 100 at most
    r = compute(Inputs(equity=np.linspace(100, 300, 253), pnls=[10] * 40, pnl_pcts=[0.1] * 40, sessions=60,
                       benchmark=np.linspace(100, 101, 253), clones=99, average_rating=5, ratings=5, viewers=999))
    assert r["score"] <= 100
    assert r["components"]["performance"]["score"] == 100


def test_empty_window_scores_zero_with_reasons():
    r = compute(Inputs(equity=[100.0], pnls=[], pnl_pcts=[], sessions=0))
    assert r["score"] == 0
    assert subs(r, "performance")["annual_return"]["why"]
    assert subs(r, "consistency")["win_rate"]["why"] == "no closed trades"
