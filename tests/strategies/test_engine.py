"""The backtest engine: hand-built cases, no look-ahead, and agreement with the reference
engine (`backtesting` 0.6) on its real GOOG daily data."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from app.paper import metrics as m
from app.rules import SeriesData, compile_rule
from app.strategies import engine

F = np.False_
T = np.True_


def one(o, h=None, lo=None, c=None):
    o = np.asarray(o, dtype=float)[None, :]
    c = o.copy() if c is None else np.asarray(c, dtype=float)[None, :]
    h = np.maximum(o, c) if h is None else np.asarray(h, dtype=float)[None, :]
    lo = np.minimum(o, c) if lo is None else np.asarray(lo, dtype=float)[None, :]
    return o, h, lo, c


def sig(*bars, n):
    a = np.zeros((1, n), dtype=bool)
    a[0, list(bars)] = True
    return a


def test_signal_at_close_fills_next_open_with_slippage_and_commission():
    o, h, lo, c = one([10, 11, 12, 13, 14], c=[10.5, 11.5, 12.5, 13.5, 14.5])
    cfg = engine.Config(sizing_pct=50, slippage_bps=10, commission=1.0, starting_capital=1000)
    res = engine.run(o, h, lo, c, sig(0, n=5), sig(2, n=5), cfg)
    t = res.trades
    assert res.n_trades == 1
    assert t["entry_bar"][0] == 1 and t["exit_bar"][0] == 3  # next bar's open, both ways
    assert t["entry_price"][0] == pytest.approx(11 * 1.001)
    assert t["exit_price"][0] == pytest.approx(13 * 0.999)
    # qty = floor((1000 * 50 % - 1) / 11.011) = 45
    assert t["qty"][0] == 45
    assert t["pnl"][0] == pytest.approx(45 * (13 * 0.999 - 11 * 1.001) - 2.0)
    assert res.equity[-1] == pytest.approx(1000 + t["pnl"][0])
    # equity marked at the close while held: cash + qty x close
    assert res.equity[1] == pytest.approx(1000 - 45 * 11.011 - 1 + 45 * 11.5)
    assert res.commissions == pytest.approx(2.0)
    assert res.slippage == pytest.approx(45 * 11 * 0.001 + 45 * 13 * 0.001)


def test_stop_loss_gap_fills_at_open_and_stop_beats_target_on_one_bar():
    # entry signal at bar 0 (close 100): stop 95, target 110
    o = [100, 100, 100, 90]
    h = [100, 101, 111, 91]
    lo = [100, 99, 94, 89]
    cfg = engine.Config(sizing_pct=50, stop_loss_pct=5, take_profit_pct=10, slippage_bps=0, starting_capital=10000)
    res = engine.run(*one(o, h, lo, c=[100, 100, 100, 90]), sig(0, n=4), sig(n=4), cfg)
    t = res.trades
    assert res.n_trades == 1
    assert t["exit_bar"][0] == 2 and t["exit_market"][0] == 95.0  # both hit on bar 2: the stop wins
    assert t["reason"][0] == engine.EXIT_STOP
    # a gap through the stop fills at the open
    res = engine.run(*one([100, 100, 90], [100, 101, 91], [100, 99, 89], c=[100, 100, 90]), sig(0, n=3),
                     sig(n=3), cfg)
    assert res.trades["exit_bar"][0] == 2 and res.trades["exit_market"][0] == 90.0
    # take-profit: max(open, target)
    res = engine.run(*one([100, 100, 112], [100, 101, 115], [100, 99, 111], c=[100, 100, 113]), sig(0, n=3),
                     sig(n=3), cfg)
    assert res.trades["reason"][0] == engine.EXIT_TARGET and res.trades["exit_market"][0] == 112.0


def test_stop_is_live_on_the_entry_bar():
    cfg = engine.Config(sizing_pct=50, stop_loss_pct=5, slippage_bps=0, starting_capital=10000)
    res = engine.run(*one([100, 100, 100], [100, 100, 100], [100, 90, 100], c=[100, 96, 100]), sig(0, n=3),
                     sig(n=3), cfg)
    assert res.trades["entry_bar"][0] == 1 and res.trades["exit_bar"][0] == 1
    assert res.trades["exit_market"][0] == 95.0


def test_entries_funded_in_universe_order_until_cash_runs_out():
    n = 3
    o = np.full((3, n), 10.0)
    entry = np.zeros((3, n), dtype=bool)
    entry[:, 0] = True
    cfg = engine.Config(sizing_pct=40, slippage_bps=0, starting_capital=1000)
    res = engine.run(o, o, o, o, entry, np.zeros_like(entry), cfg)
    assert res.open_positions["sym"].tolist() == [0, 1]  # 40 + 40 % fit, the third would need 120 %
    assert res.open_positions["qty"].tolist() == [40, 40]
    assert res.cash[-1] == pytest.approx(200.0)


def test_no_trade_on_a_missing_bar_and_open_positions_not_counted():
    o, h, lo, c = one([10, np.nan, 12, 13])
    res = engine.run(o, h, lo, c, sig(0, n=4), sig(n=4), engine.Config(sizing_pct=10, slippage_bps=0))
    assert res.n_trades == 0
    assert res.open_positions["sym"].size == 0  # the order at bar 1 could not fill (no bar) and lapsed
    res = engine.run(o, h, lo, c, sig(1, n=4), sig(n=4), engine.Config(sizing_pct=10, slippage_bps=0))
    assert res.open_positions["entry_bar"].tolist() == [2]
    assert res.n_trades == 0


def _random_market(n_sym=6, n=400, seed=3):
    rng = np.random.default_rng(seed)
    c = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_sym, n)), axis=1))
    o = c * np.exp(rng.normal(0, 0.005, (n_sym, n)))
    h = np.maximum(o, c) * (1 + rng.uniform(0, 0.01, (n_sym, n)))
    lo = np.minimum(o, c) * (1 - rng.uniform(0, 0.01, (n_sym, n)))
    return o, h, lo, c


def _signals(o, h, lo, c):
    data = SeriesData({"open": o, "high": h, "low": lo, "close": c, "volume": np.ones_like(c)})
    entry = compile_rule("crosses_above(sma(close, 5), sma(close, 20))", "condition").evaluate(data, "time_series")
    exit_ = compile_rule("crosses_below(sma(close, 5), sma(close, 20)) or rsi(14) > 75",
                         "condition").evaluate(data, "time_series")
    return entry, exit_


def test_no_look_ahead_future_bars_never_change_the_past():
    o, h, lo, c = _random_market()
    cfg = engine.Config(sizing_pct=20, stop_loss_pct=5, take_profit_pct=12)
    full = engine.run(o, h, lo, c, *_signals(o, h, lo, c), cfg)
    cut = 250
    # scramble everything after `cut`: signals and results up to `cut` must not move
    o2, h2, lo2, c2 = (a.copy() for a in (o, h, lo, c))
    rng = np.random.default_rng(99)
    for a in (o2, h2, lo2, c2):
        a[:, cut:] *= rng.uniform(0.5, 1.5, a[:, cut:].shape)
    h2, lo2 = np.maximum.reduce([h2, o2, c2]), np.minimum.reduce([lo2, o2, c2])
    e2, x2 = _signals(o2, h2, lo2, c2)
    e1, x1 = _signals(o, h, lo, c)
    assert (e1[:, :cut] == e2[:, :cut]).all() and (x1[:, :cut] == x2[:, :cut]).all()
    part = engine.run(o2, h2, lo2, c2, e2, x2, cfg)
    np.testing.assert_allclose(full.equity[:cut], part.equity[:cut])
    done = full.trades["exit_bar"] < cut
    done2 = part.trades["exit_bar"] < cut
    for k in ("sym", "entry_bar", "exit_bar", "qty", "pnl"):
        np.testing.assert_allclose(full.trades[k][done], part.trades[k][done2])


def test_shifting_the_data_shifts_the_trades():
    o, h, lo, c = _random_market(n_sym=3)
    k = 7
    pad = lambda a: np.concatenate([np.repeat(a[:, :1], k, axis=1), a], axis=1)  # noqa: E731
    cfg = engine.Config(sizing_pct=25)
    e, x = _signals(o, h, lo, c)
    z = np.zeros((3, k), dtype=bool)
    base = engine.run(o, h, lo, c, e, x, cfg)
    shifted = engine.run(pad(o), pad(h), pad(lo), pad(c), np.concatenate([z, e], 1), np.concatenate([z, x], 1), cfg)
    np.testing.assert_array_equal(shifted.trades["entry_bar"], base.trades["entry_bar"] + k)
    np.testing.assert_array_equal(shifted.trades["exit_bar"], base.trades["exit_bar"] + k)
    np.testing.assert_allclose(shifted.trades["pnl"], base.trades["pnl"])


# ---------------------------------------------------------------- the reference engine
@pytest.mark.parametrize("sl,tp,slip", [(None, None, 5.0), (4.0, 8.0, 5.0), (3.0, None, 0.0), (None, 6.0, 20.0)])
def test_agrees_with_backtesting_py_on_goog(sl, tp, slip):
    from backtesting import Backtest, Strategy
    from backtesting.test import GOOG

    df = GOOG
    fields = {k: df[k.capitalize()].to_numpy()[None, :] for k in ("open", "high", "low", "close", "volume")}
    data = SeriesData(fields)
    ent = compile_rule("crosses_above(sma(close, 10), sma(close, 20))", "condition").evaluate(data, "time_series")
    ext = compile_rule("crosses_below(sma(close, 10), sma(close, 20))", "condition").evaluate(data, "time_series")
    size = 0.9

    class Ref(Strategy):
        def init(self):
            self.e = self.I(lambda: ent[0].astype(float))
            self.x = self.I(lambda: ext[0].astype(float))

        def next(self):
            close = self.data.Close[-1]
            if not self.position and self.e[-1]:
                self.buy(size=size, sl=close * (1 - sl / 100) if sl else None,
                         tp=close * (1 + tp / 100) if tp else None)
            elif self.position and self.x[-1]:
                self.position.close()

    # our slippage (against the trader on both fills) == the reference's relative commission
    # charged at entry and exit, with its spread at 0; fills at the next open (trade_on_close=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(df, Ref, cash=100_000, commission=slip / 10_000, spread=0, trade_on_close=False,
                         exclusive_orders=False, finalize_trades=False).run()
    ref = stats._trades
    ours = engine.run(fields["open"], fields["high"], fields["low"], fields["close"], ent, ext,
                      engine.Config(sizing_pct=size * 100, stop_loss_pct=sl, take_profit_pct=tp, slippage_bps=slip,
                                    starting_capital=100_000))
    t = ours.trades
    assert len(ref) == ours.n_trades > 30
    np.testing.assert_array_equal(ref.EntryBar.to_numpy(), t["entry_bar"])
    np.testing.assert_array_equal(ref.ExitBar.to_numpy(), t["exit_bar"])
    np.testing.assert_array_equal(ref.Size.to_numpy(), t["qty"])
    np.testing.assert_allclose(ref.EntryPrice.to_numpy(), t["entry_market"], rtol=1e-12)
    np.testing.assert_allclose(ref.ExitPrice.to_numpy(), t["exit_market"], rtol=1e-12)
    np.testing.assert_allclose(ref.PnL.to_numpy(), t["pnl"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(stats._equity_curve.Equity.to_numpy(), ours.equity, rtol=1e-10)
    assert stats["# Trades"] == ours.n_trades
    assert stats["Win Rate [%]"] == pytest.approx(m.win_rate(t["pnl"]) * 100)
    assert stats["Equity Final [$]"] == pytest.approx(ours.equity[-1])
    assert stats["Return [%]"] == pytest.approx(m.total_return(ours.equity) * 100)
    assert stats["Max. Drawdown [%]"] == pytest.approx(m.max_drawdown(ours.equity).max_drawdown * 100)
    # the reference's trade return is measured on the unslipped entry price
    np.testing.assert_allclose(ref.ReturnPct.to_numpy(), t["pnl"] / (t["qty"] * t["entry_market"]), rtol=1e-9)
