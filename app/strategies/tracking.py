"""Forward tracking: after each daily cycle every strategy in ``tracking`` status evaluates
its rules on the day's bars and trades its own (managed) paper account through the ledger's
system API (``place_system_order`` / ``close_system_position``: the same checks and fills
as a person's orders):

* held symbol whose exit rule holds at the close -> ``close_system_position`` (a market order that
  fills at the next open, like the engine);
* flat symbol (no live order) whose entry rule holds -> a market buy of
  ``floor(equity x sizing% / (close x (1 + slippage)))`` shares, good for the next session,
  with bracket legs at ``close x (1 - SL%)`` / ``close x (1 + TP%)`` (the engine prices
  its stops from the signal bar's close too).

Idempotent per session: entry orders carry the key ``strategy-<id>-<session>-<symbol>``.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Double, cast, func, select

from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models.market import Snapshot
from app.models.paper import LIVE_STATUSES, Order, Position
from app.models.strategies import TRACKING, Strategy
from app.rules import RuleError, SeriesData, compile_rule
from app.strategies import data as sdata

log = logging.getLogger(__name__)
LOOKBACK_DAYS = sdata.WARMUP_DAYS


def track_all(now: dt.datetime | None = None, until: dt.date | None = None) -> dict:
    ids = list(db.session.scalars(select(Strategy.id).where(Strategy.status == TRACKING,
                                                            Strategy.paper_account_id.is_not(None))
                                  .order_by(Strategy.id)))
    stats = {"strategies": len(ids), "entries": 0, "exits": 0, "refused": 0, "failed": 0}
    for sid in ids:
        try:
            got = track_one(sid, now=now, until=until)
        except Exception:  # one broken strategy must not stop the others
            db.session.rollback()
            log.exception("forward tracking of strategy %s failed", sid)
            stats["failed"] += 1
            continue
        for k in ("entries", "exits", "refused"):
            stats[k] += got[k]
    return stats


def signals_today(strategy: Strategy, until: dt.date | None = None):
    """(panel, entry, exit) with the signals of the last bar of each symbol."""
    from app.strategies.services import universe_symbols

    pairs = sdata.resolve_symbols(universe_symbols(strategy))
    if not pairs:
        return None, None, None
    until = until or dt.date.today()
    panel = sdata.load_panel([i for i, _ in pairs], [s for _, s in pairs],
                             until - dt.timedelta(days=LOOKBACK_DAYS), until)
    if not panel.dates:
        return panel, None, None
    data = SeriesData(panel.fields(), symbols=panel.symbols)
    entry = compile_rule(strategy.entry_rule, expect="condition").evaluate(data)
    exit_ = compile_rule(strategy.exit_rule, expect="condition").evaluate(data)
    has_last = ~np.isnan(panel.close[:, -1])  # a symbol without today's bar gives no signal
    return panel, entry & has_last, exit_ & has_last


@dataclass
class DaySignals:
    """One session's signals of a strategy (what :func:`track_one` acts on)."""

    session: dt.date
    stock_ids: list[int]
    symbols: list[str]
    entry: np.ndarray
    exit: np.ndarray
    close: np.ndarray


def track_one(strategy_id: int, now: dt.datetime | None = None, until: dt.date | None = None,
              signals: DaySignals | None = None) -> dict:
    """Trade one strategy's account on the last session's signals (computed here from the
    bars up to ``until``, or given: the demo replay precomputes them with the same rules)."""
    stats = {"entries": 0, "exits": 0, "refused": 0}
    strategy = db.session.get(Strategy, strategy_id)
    if strategy is None or strategy.status != TRACKING or strategy.paper_account is None:
        return stats
    if signals is None:
        try:
            panel, entry, exit_ = signals_today(strategy, until)
        except RuleError:
            log.warning("strategy %s: rules no longer evaluate", strategy.id, exc_info=True)
            return stats
        if entry is None:
            return stats
        signals = DaySignals(panel.dates[-1], panel.stock_ids.tolist(), panel.symbols, entry, exit_,
                             panel.close[:, -1])
    return _act(strategy, signals, now, stats)


def _act(strategy: Strategy, sig: DaySignals, now: dt.datetime | None, stats: dict) -> dict:
    from app.paper import services as ledger

    account = strategy.paper_account
    session = sig.session
    entry, exit_ = sig.entry, sig.exit
    held = dict(db.session.execute(select(Position.stock_id, Position.qty)
                                   .where(Position.account_id == account.id, Position.qty != 0)).all())
    live = set(db.session.scalars(select(Order.stock_id).where(Order.account_id == account.id,
                                                               Order.status.in_(LIVE_STATUSES))))
    # exits first (the cash they free is available to the next open's entries)
    for i, stock_id in enumerate(sig.stock_ids):
        if exit_[i] and held.get(stock_id, 0) > 0:
            live_close = db.session.scalar(select(Order.id).where(
                Order.account_id == account.id, Order.stock_id == stock_id, Order.role == "close",
                Order.status.in_(LIVE_STATUSES)))
            if live_close:
                continue
            try:
                ledger.close_system_position(account, stock_id=stock_id, source="strategy", now=now)
                stats["exits"] += 1
            except (InvalidInput, NotFound, Conflict) as exc:
                db.session.rollback()
                stats["refused"] += 1
                log.info("strategy %s exit %s refused: %s", strategy.id, sig.symbols[i], exc)
    summary = ledger.account_summary(account)
    equity = float(summary.equity)
    cash = float(summary.buying_power)  # what new entries can spend (orders waiting for the open included)
    cash -= float(db.session.scalar(
        select(func.coalesce(func.sum(Order.qty * cast(Snapshot.price, Double)), 0))
        .join(Snapshot, Snapshot.stock_id == Order.stock_id)
        .where(Order.account_id == account.id, Order.status.in_(LIVE_STATUSES), Order.side == "buy")) or 0)
    slip = float(account.slippage_bps) / 10_000
    fee = float(account.commission)
    for i, stock_id in enumerate(sig.stock_ids):
        if not entry[i] or held.get(stock_id, 0) != 0 or stock_id in live:
            continue
        c = float(sig.close[i])
        if not math.isfinite(c) or c <= 0:
            continue
        qty = math.floor(equity * strategy.sizing_pct / 100 / (c * (1 + slip)))
        cost = qty * c * (1 + slip) + fee
        if qty < 1 or cost > cash:
            stats["no_cash"] = stats.get("no_cash", 0) + (qty >= 1)
            continue
        tp = round(c * (1 + strategy.take_profit_pct / 100), 4) if strategy.take_profit_pct else None
        sl = round(c * (1 - strategy.stop_loss_pct / 100), 4) if strategy.stop_loss_pct else None
        try:
            ledger.place_system_order(account, symbol=sig.symbols[i], side="buy", qty=qty, type="market",
                                      tif="day", take_profit=tp, stop_loss=sl, source="strategy", now=now,
                                      idempotency_key=f"strategy-{strategy.id}-{session.isoformat()}-{sig.symbols[i]}")
            stats["entries"] += 1
            cash -= cost
        except (InvalidInput, Conflict) as exc:
            db.session.rollback()
            stats["refused"] += 1
            log.info("strategy %s entry %s refused: %s", strategy.id, sig.symbols[i], exc)
    return stats
