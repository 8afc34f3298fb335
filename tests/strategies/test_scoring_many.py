"""The leaderboard's batch scorer (``compute_many``) equals ``compute`` exactly, window by
window, on random and edge-case windows."""
from __future__ import annotations

import numpy as np

from app.strategies.scoring import Inputs, compute, compute_many


def _random_inputs(rng: np.random.Generator) -> Inputs:
    n_eq = int(rng.choice([0, 1, 2, 3, 6, 22, 60, 151, 300]))
    kind = rng.integers(0, 6)
    if kind == 0:  # flat: no drawdown, no variation
        eq = np.full(n_eq, 1000.0)
    elif kind == 1:  # only rising: no drawdown
        eq = 1000 * np.cumprod(1 + rng.uniform(0.0001, 0.02, n_eq))
    elif kind == 2:  # a wipe-out
        eq = np.linspace(1000, 0, n_eq)
    else:
        eq = 100000 * np.cumprod(1 + rng.normal(0.0005, 0.02, n_eq))
    n_tr = int(rng.choice([0, 1, 5, 9, 10, 11, 30, 45, 80]))
    tkind = rng.integers(0, 5)
    if tkind == 0:  # no losses
        pnls = rng.uniform(0.5, 50, n_tr)
    elif tkind == 1:  # only losses
        pnls = -rng.uniform(0.5, 50, n_tr)
    elif tkind == 2:  # break-evens among them
        pnls = rng.choice([0.0, 10.0, -5.0], n_tr)
    else:
        pnls = rng.normal(20, 100, n_tr).round(4)
    pcts = pnls / 1000
    bench = None
    if n_eq >= 1 and rng.random() < 0.5:
        bench = 400 * np.cumprod(1 + rng.normal(0.0003, 0.01, n_eq))
    ratings = int(rng.integers(0, 3))
    return Inputs(equity=eq, pnls=pnls, pnl_pcts=pcts, sessions=int(rng.choice([0, 1, 5, 21, max(n_eq - 1, 0)])),
                  benchmark=bench, costs=float(rng.choice([0.0, 3.5, 1e6])), clones=int(rng.integers(0, 25)),
                  average_rating=float(rng.uniform(1, 5)) if ratings or rng.random() < 0.3 else None,
                  ratings=ratings, viewers=int(rng.integers(0, 300)))


def test_compute_many_equals_compute_exactly():
    rng = np.random.default_rng(20261128)
    inputs = [_random_inputs(rng) for _ in range(1500)]
    inputs += [Inputs(equity=[100.0], pnls=[], pnl_pcts=[], sessions=0),
               Inputs(equity=[], pnls=[], pnl_pcts=[], sessions=0),
               Inputs(equity=[100, 50, 20, 10], pnls=[-10] * 40, pnl_pcts=[-0.5] * 40, sessions=3, costs=1e6),
               Inputs(equity=np.linspace(100, 300, 253), pnls=[10] * 40, pnl_pcts=[0.1] * 40, sessions=60,
                      benchmark=np.linspace(100, 101, 253), clones=99, average_rating=5, ratings=5, viewers=999)]
    got = compute_many(inputs)
    assert len(got) == len(inputs)
    for inp, many in zip(inputs, got, strict=True):
        one = compute(inp)
        assert many["score"] == one["score"]
        assert many["components"] == {k: c["score"] for k, c in one["components"].items()}
        assert repr(many["figures"]) == repr(one["figures"])  # bit-identical floats, same types
    assert compute_many([]) == []
