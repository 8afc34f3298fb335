"""The backtest engine: a long-only portfolio over daily bars, vectorised across symbols with
numpy (one pass over time, every step an array operation over all symbols).

Conventions (the same as forward tracking through the paper ledger, and the same as the
reference engine ``backtesting`` 0.6 configured with ``trade_on_close=False``,
``spread=0``, ``commission=slippage``, ``exclusive_orders=False``, ``finalize_trades=False``
-- see tests/strategies/test_engine_reference.py):

* Signals are computed on each bar's **close** with the rule language's time-series mode.
  Entry and exit rules are evaluated for every symbol and bar; a bar's signal only uses
  data up to that bar (no look-ahead; tested by truncating and shifting the data).
* Orders are market orders filled at the **next bar's open**. Fill price: ``open x (1 + s)``
  for buys and ``open x (1 - s)`` for sells (``s`` = slippage in bps / 10,000, default 5 bps
  like the paper ledger), plus a fixed commission per order (default 0, as the ledger).
* A flat symbol whose entry rule holds at a close is bought at the next open; a held symbol
  whose exit rule holds is sold at the next open (exits are processed before entries, so
  the cash they free is available). One position per symbol, no pyramiding.
* Sizing: ``qty = floor((equity_prev_close x sizing% - commission) / (open x (1 + s)))``
  whole shares, equity taken at the signal bar's close (no look-ahead). Entries on the same
  bar are funded in universe order until cash runs out (no margin, no shorting).
* Stop-loss / take-profit are set from the **signal bar's close** (``close x (1 - SL%)``,
  ``close x (1 + TP%)``), exactly as the ledger's bracket legs are priced from the last
  quote, and are live from the entry bar on: stop hit when ``low <= stop`` (fill at
  ``min(open, stop)``, gaps fill at the open), take-profit when ``high >= target`` (fill at
  ``max(open, target)``); both on one bar: the stop wins (conservative, as the ledger).
  Exits pay the same slippage and commission.
* Equity is marked at every close (``cash + sum(qty x close)``); positions still open at
  the end are reported as open (not counted as closed trades), marked at the last close.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.paper import metrics as m


@dataclass(frozen=True)
class Config:
    sizing_pct: float = 10.0
    stop_loss_pct: float | None = None
    take_profit_pct: float | None = None
    slippage_bps: float = 5.0
    commission: float = 0.0
    starting_capital: float = 100_000.0


@dataclass
class Result:
    equity: np.ndarray  # (T,) marked at each close
    cash: np.ndarray  # (T,)
    in_market: np.ndarray  # (T,) bool: at least one position held at the close
    trades: dict[str, np.ndarray]  # column arrays of closed trades
    open_positions: dict[str, np.ndarray]
    costs: float = 0.0  # total slippage + commission paid
    commissions: float = 0.0
    slippage: float = 0.0
    extras: dict = field(default_factory=dict)

    @property
    def n_trades(self) -> int:
        return int(self.trades["qty"].size)


EXIT_SIGNAL, EXIT_STOP, EXIT_TARGET = 0, 1, 2
EXIT_REASONS = {EXIT_SIGNAL: "exit rule", EXIT_STOP: "stop-loss", EXIT_TARGET: "take-profit"}


def run(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
        entry: np.ndarray, exit_: np.ndarray, config: Config, start: int = 0,
        progress: Callable[[float], None] | None = None) -> Result:
    """Simulate the portfolio over bars ``start .. T-1`` of ``(S, T)`` arrays (bars before
    ``start`` are warm-up: their signals are ignored, except that an entry signal at
    ``start - 1`` is not acted on either -- trading starts with the first signal inside the
    range). ``entry``/``exit_`` are bool arrays of the same shape."""
    open_ = np.asarray(open_, dtype=float)
    high = np.asarray(high, dtype=float)
    low = np.asarray(low, dtype=float)
    close = np.asarray(close, dtype=float)
    entry = np.asarray(entry, dtype=bool)
    exit_ = np.asarray(exit_, dtype=bool)
    S, T = close.shape
    s = float(config.slippage_bps) / 10_000.0
    fee = float(config.commission)
    frac = float(config.sizing_pct) / 100.0
    sl_k = None if not config.stop_loss_pct else 1.0 - float(config.stop_loss_pct) / 100.0
    tp_k = None if not config.take_profit_pct else 1.0 + float(config.take_profit_pct) / 100.0

    # last known close for marking (a missing bar keeps the previous mark)
    mark = close.copy()
    if np.isnan(mark).any():
        idx = np.where(np.isnan(mark), 0, np.arange(T)[None, :])
        np.maximum.accumulate(idx, axis=1, out=idx)
        mark = mark[np.arange(S)[:, None], idx]
    mark = np.nan_to_num(mark, nan=0.0)

    qty = np.zeros(S, dtype=np.int64)
    e_mkt = np.zeros(S)  # market price at entry (the open)
    e_fill = np.zeros(S)
    e_bar = np.zeros(S, dtype=np.int64)
    e_fee = np.zeros(S)
    stop = np.full(S, -np.inf)
    target = np.full(S, np.inf)
    pend_entry = np.zeros(S, dtype=bool)
    pend_exit = np.zeros(S, dtype=bool)
    pend_stop = np.full(S, -np.inf)
    pend_target = np.full(S, np.inf)
    cash = float(config.starting_capital)
    equity_prev = cash

    equity = np.full(T, np.nan)
    cash_curve = np.full(T, np.nan)
    in_market = np.zeros(T, dtype=bool)
    equity[:start] = cash
    cash_curve[:start] = cash
    out: dict[str, list] = {k: [] for k in ("sym", "qty", "entry_bar", "exit_bar", "entry_market", "entry_price",
                                           "exit_market", "exit_price", "fees", "reason")}
    costs = {"commission": 0.0, "slippage": 0.0}
    step = max(1, (T - start) // 50)

    def close_out(mask: np.ndarray, t: int, market: np.ndarray, reason: int) -> None:
        nonlocal cash
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return
        px = market[idx]
        fill = px * (1.0 - s)
        q = qty[idx]
        cash += float((q * fill).sum()) - fee * idx.size
        costs["commission"] += fee * idx.size
        costs["slippage"] += float((q * (px - fill)).sum())
        out["sym"].append(idx)
        out["qty"].append(q.copy())
        out["entry_bar"].append(e_bar[idx].copy())
        out["exit_bar"].append(np.full(idx.size, t))
        out["entry_market"].append(e_mkt[idx].copy())
        out["entry_price"].append(e_fill[idx].copy())
        out["exit_market"].append(px)
        out["exit_price"].append(fill)
        out["fees"].append(e_fee[idx] + fee)
        out["reason"].append(np.full(idx.size, reason))
        qty[idx] = 0
        stop[idx] = -np.inf
        target[idx] = np.inf

    for t in range(start, T):
        o, h, lo_ = open_[:, t], high[:, t], low[:, t]
        tradable = ~np.isnan(o)
        # 1. exits from the exit rule at the open
        close_out(pend_exit & (qty > 0) & tradable, t, o, EXIT_SIGNAL)
        # 2. entries at the open, funded in universe order while cash lasts
        want = pend_entry & (qty == 0) & tradable
        if want.any():
            idx = np.flatnonzero(want)
            fill = o[idx] * (1.0 + s)
            q = np.floor((equity_prev * frac - fee) / fill).astype(np.int64)
            ok = q >= 1
            idx, fill, q = idx[ok], fill[ok], q[ok]
            cost = q * fill + fee
            afford = np.cumsum(cost) <= cash + 1e-9
            idx, fill, q, cost = idx[afford], fill[afford], q[afford], cost[afford]
            if idx.size:
                cash -= float(cost.sum())
                costs["commission"] += fee * idx.size
                costs["slippage"] += float((q * (fill - o[idx])).sum())
                qty[idx] = q
                e_mkt[idx] = o[idx]
                e_fill[idx] = fill
                e_bar[idx] = t
                e_fee[idx] = fee
                stop[idx] = pend_stop[idx]
                target[idx] = pend_target[idx]
        # 3. stop-loss, then take-profit, on the bar's range (entry bar included)
        held = (qty > 0) & tradable
        if held.any():
            with np.errstate(invalid="ignore"):
                hit_stop = held & (lo_ <= stop)
                hit_target = held & ~hit_stop & (h >= target)
            if hit_stop.any():
                close_out(hit_stop, t, np.minimum(o, stop), EXIT_STOP)
            if hit_target.any():
                close_out(hit_target, t, np.maximum(o, target), EXIT_TARGET)
        # 4. mark at the close
        value = float((qty * mark[:, t]).sum())
        equity[t] = equity_prev = cash + value
        cash_curve[t] = cash
        in_market[t] = bool((qty > 0).any())
        # 5. signals at the close -> orders for the next open
        pend_exit = exit_[:, t] & (qty > 0)
        pend_entry = entry[:, t] & (qty == 0)
        c = close[:, t]
        pend_stop = c * sl_k if sl_k is not None else np.full(S, -np.inf)
        pend_target = c * tp_k if tp_k is not None else np.full(S, np.inf)
        if progress is not None and (t - start) % step == 0:
            progress((t - start + 1) / max(1, T - start))

    trades = {k: (np.concatenate(v) if v else np.empty(0, dtype=float if k not in ("sym", "qty", "entry_bar",
                                                                                    "exit_bar", "reason")
                                                         else np.int64))
              for k, v in out.items()}
    if trades["qty"].size:
        order = np.lexsort((trades["sym"], trades["exit_bar"], trades["entry_bar"]))
        trades = {k: v[order] for k, v in trades.items()}
    gross = trades["qty"] * (trades["exit_price"] - trades["entry_price"]) if trades["qty"].size else np.empty(0)
    trades["pnl"] = gross - trades["fees"]
    with np.errstate(divide="ignore", invalid="ignore"):
        trades["pnl_pct"] = np.where(trades["entry_price"] > 0,
                                     trades["pnl"] / (trades["qty"] * trades["entry_price"]), 0.0) \
            if trades["qty"].size else np.empty(0)
    held = np.flatnonzero(qty > 0)
    open_positions = {"sym": held, "qty": qty[held], "entry_bar": e_bar[held], "entry_price": e_fill[held],
                      "mark": mark[held, T - 1] if T else np.empty(0)}
    return Result(equity=equity, cash=cash_curve, in_market=in_market, trades=trades,
                  open_positions=open_positions, costs=costs["commission"] + costs["slippage"],
                  commissions=costs["commission"], slippage=costs["slippage"])


def compute_metrics(result: Result, start: int = 0, risk_free: float = 0.0) -> dict:
    """Every metric of the run, from :mod:`app.paper.metrics` (the one implementation)."""
    eq = result.equity[start:]
    pnls = result.trades["pnl"]
    out = m.summary(eq, pnls, risk_free)
    out["exposure"] = m.exposure(float(result.in_market[start:].sum()), float(eq.size))
    out["win_loss_ratio"] = m.win_loss_ratio(pnls)
    out["costs"] = result.costs
    out["commissions"] = result.commissions
    out["slippage"] = result.slippage
    out["gross_profit"] = float(pnls[pnls > 0].sum()) if pnls.size else 0.0
    out["open_positions"] = int(result.open_positions["qty"].size)
    out["final_equity"] = float(eq[-1]) if eq.size else None
    return out
