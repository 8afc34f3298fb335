"""Demo strategies for `make run` (never in production): about 60 public strategies of every
category, each backtested by the engine and forward-tracked through the real paper ledger
over the last sessions of the simulated market, so the leaderboard is full of engine- and
ledger-produced numbers (nothing invented).

The replay, session by session (``d`` = each of the last ``SESSIONS`` sessions):

1. at ``d``'s open (09:31 ET) the demo universe's snapshots are set to the bars' opens; every
   tracked strategy acts on the signals of the previous close (``tracking.track_one`` with
   the rules evaluated in time-series mode once: the same rules, the same ledger calls),
   so market orders fill at the open with the account's slippage; the ledger's order check
   runs (bracket legs);
2. at ``d``'s close (16:01 ET) the snapshots are set to the closes, the order check runs
   again (bracket legs are checked at the open and the close of each replayed session,
   not every minute) and the ledger takes its daily equity snapshot.

The snapshots the market loader wrote are restored at the end.
"""
from __future__ import annotations

import datetime as dt
import logging
import time

import numpy as np
from sqlalchemy import select, text, update

from app.database import utcnow
from app.extensions import db
from app.market import calendar as mcal
from app.models.market import Snapshot
from app.models.strategies import Strategy
from app.rules import TIME_SERIES, SeriesData, compile_rule

log = logging.getLogger(__name__)
SESSIONS = 100
N_STRATEGIES = 60
UNIVERSE = 40
OWNERS = ("Ada Quant", "Ben Momentum", "Cleo Swing", "Dev Breakout", "Eli Reversion", "Fay Trend",
          "Gus Value", "Hana Daytrader")
# (category, name, entry, exit, stop %, target %); {a} {b} are varied per strategy
RECIPES = (
    ("momentum", "Momentum {a}/{b}", "close > sma(close, {a}) and change_pct > 1", "close < sma(close, {a})", 6, 12),
    ("momentum", "Gap runner {a}", "gap_pct > 0.5 and close > open", "close < ref(close, 1)", 4, 8),
    ("mean_reversion", "RSI dip {a}", "rsi({a}) < 40", "rsi({a}) > 55", 8, 10),
    ("mean_reversion", "Band bounce {b}", "close < bb_lower", "close > sma(close, {b})", 7, 9),
    ("breakout", "Range breakout {a}", "close > ref(highest(high, {a}), 1)", "close < sma(close, 5)", 5, 15),
    ("breakout", "Volume breakout {a}", "close > highest(close, {a}) and volume > avg(volume, 20)",
     "close < sma(close, {a})", 5, 12),
    ("swing", "Swing {a}", "crosses_above(close, ema(close, {a}))", "crosses_below(close, ema(close, {a}))", 6, 10),
    ("swing", "Swing pullback {a}", "close > ema(close, {b}) and rsi(5) < 40", "rsi(5) > 60", 6, 8),
    ("day_trading", "Next-day pop {a}", "change_pct < -1 and rsi({a}) < 50", "close > ref(close, 1)", 3, 4),
    ("trend_following", "Trend {a}/{b}", "close > sma(close, {a}) and sma(close, {a}) > sma(close, {b})",
     "close < sma(close, {a})", 10, None),
    ("trend_following", "ATR trail {a}", "close > sma(close, {b})", "close < highest(close, {a}) - 2 * atr(14)", 10, None),
    ("value", "Pullback buyer {a}", "close < sma(close, {a}) * 0.97 and close > sma(close, {b})",
     "close > sma(close, {a})", 8, 8),
    ("custom", "Custom mix {a}", "macd_hist > 0 and rsi(14) < 65", "macd_hist < 0", 6, 12),
)


def _et(day: dt.date, hh: int, mm: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=mcal.ET).astimezone(dt.UTC)


def load_demo_strategies(n: int = N_STRATEGIES, sessions: int = SESSIONS, seed: int = 8) -> dict:
    """Create, backtest and forward-track the demo strategies (once: idempotent)."""
    from app.auth.services import create_user, find_user_by_email
    from app.cli import random_password
    from app.models.market import Stock
    from app.paper import services as ledger
    from app.strategies import data as sdata
    from app.strategies import queries, services, tracking

    if db.session.scalar(select(Strategy.id).limit(1)) is not None:
        return {"strategies": 0}
    t0 = time.perf_counter()
    # the demo universe: the first symbols with a full year of bars
    # stocks only: the ETFs are the benchmarks (SPY by default), not something to trade here
    ids = list(db.session.scalars(select(Stock.id).where(Stock.active.is_(True), Stock.asset_type == "stock")
                                  .order_by(Stock.symbol).limit(400)))
    if not ids:
        return {"strategies": 0}
    syms = dict(db.session.execute(select(Stock.id, Stock.symbol).where(Stock.id.in_(ids))).all())
    panel = sdata.load_panel(ids, [syms[i] for i in ids])
    if len(panel.dates) < sessions + 60:
        return {"strategies": 0}
    full = ~np.isnan(panel.close).any(axis=1)
    keep = np.flatnonzero(full)[:UNIVERSE]
    if keep.size < 10:
        return {"strategies": 0}
    stock_ids = panel.stock_ids[keep].tolist()
    symbols = [panel.symbols[i] for i in keep]
    o, c = panel.open[keep], panel.close[keep]
    data = SeriesData({k: v[keep] for k, v in panel.fields().items()}, symbols=symbols)

    owners = []
    for i, name in enumerate(OWNERS):
        email = f"demo-strategist-{i + 1}@example.com"
        user = find_user_by_email(email) or create_user(email, name, random_password(), confirmed=True)
        owners.append(user)
    db.session.commit()

    rng = np.random.default_rng(seed)
    T = len(panel.dates)
    first = T - sessions
    made = []
    for k in range(n):
        cat, name, entry, exit_, sl, tp = RECIPES[k % len(RECIPES)]
        a, b = int(rng.integers(5, 15)), int(rng.integers(20, 60))
        fmt = {"a": a, "b": b}
        universe = sorted(rng.choice(len(symbols), size=int(rng.integers(8, 17)), replace=False).tolist())
        owner = owners[k % len(owners)]
        s = services.create_strategy(
            owner, name=f"{name.format(**fmt)} #{k + 1}", category=cat,
            description="Demo strategy: backtested by the engine and forward-tracked by the paper ledger.",
            universe=",".join(symbols[i] for i in universe), entry_rule=entry.format(**fmt),
            exit_rule=exit_.format(**fmt), sizing_pct=str(int(rng.choice([5, 8, 10]))),
            stop_loss_pct=str(sl) if sl else "", take_profit_pct=str(tp) if tp else "",
            visibility="public" if k % 10 else "unlisted")
        bt = services.Backtest(strategy_id=s.id, owner_id=owner.id, status="queued",
                               end_date=panel.dates[first - 1], starting_capital=100000.0,
                               params={"symbols": s.symbols, "entry_rule": s.entry_rule, "exit_rule": s.exit_rule,
                                       "sizing_pct": s.sizing_pct, "stop_loss_pct": s.stop_loss_pct,
                                       "take_profit_pct": s.take_profit_pct, "slippage_bps": 5, "commission": 0,
                                       "benchmark": s.benchmark})
        db.session.add(bt)
        db.session.commit()
        services.execute_backtest(bt.id)  # the engine, over the sessions before the forward period
        s = services.start_tracking(owner, s.id)
        # most start with the replay; some later (rookies: < 90 days of tracking)
        start = first if k % 7 else first + int(rng.integers(45, 75))
        rows = np.array(universe)
        e = compile_rule(s.entry_rule, "condition").evaluate(data, TIME_SERIES)[rows]
        x = compile_rule(s.exit_rule, "condition").evaluate(data, TIME_SERIES)[rows]
        made.append({"id": s.id, "start": start, "rows": rows, "entry": e, "exit": x})
        db.session.execute(update(Strategy).where(Strategy.id == s.id)
                           .values(tracking_started_at=_et(panel.dates[start], 9, 31)))
        db.session.commit()

    saved = {r.stock_id: (r.price, r.as_of, r.session) for r in db.session.execute(
        select(Snapshot.stock_id, Snapshot.price, Snapshot.as_of, Snapshot.session)
        .where(Snapshot.stock_id.in_(stock_ids)))}

    def set_prices(prices: np.ndarray, at: dt.datetime, day: dt.date) -> None:
        db.session.execute(update(Snapshot), [{"stock_id": sid, "price": float(p), "as_of": at, "session": day}
                                              for sid, p in zip(stock_ids, prices, strict=True)])
        db.session.commit()

    orders = 0
    if db.session.get_bind().dialect.name == "sqlite":
        # demo data on the embedded database: thousands of small ledger transactions; do not
        # fsync each one (this connection only; a crash mid-load just means reloading the demo)
        db.session.execute(text("PRAGMA synchronous = OFF"))
    try:
        for t in range(first, T):
            day = panel.dates[t]
            at_open, at_close = _et(day, 9, 31), _et(day, 16, 1)
            set_prices(o[:, t], at_open, day)
            for m in made:
                if t <= m["start"]:
                    continue
                r = m["rows"]
                sig = tracking.DaySignals(panel.dates[t - 1], [stock_ids[i] for i in r], [symbols[i] for i in r],
                                          m["entry"][:, t - 1], m["exit"][:, t - 1], c[r, t - 1])
                got = tracking.track_one(m["id"], now=at_open, signals=sig)
                orders += got["entries"] + got["exits"]
            ledger.process_open_orders(stock_ids=stock_ids, as_of=at_open)
            set_prices(c[:, t], at_close, day)
            ledger.process_open_orders(stock_ids=stock_ids, as_of=at_close)
            ledger.snapshot_equity(day, now=at_close)
    finally:
        db.session.rollback()
        if saved:
            db.session.execute(update(Snapshot), [{"stock_id": sid, "price": p, "as_of": a, "session": d}
                                                  for sid, (p, a, d) in saved.items()])
            db.session.commit()
    board = queries.rebuild_leaderboard(now=utcnow())
    stats = {"strategies": len(made), "orders": orders, "ranked": board["ranked"],
             "seconds": round(time.perf_counter() - t0, 1)}
    log.info("demo strategies: %s", stats)
    return stats
