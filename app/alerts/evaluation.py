"""The per-cycle evaluation of every active alert rule (the whole flow is described in
:mod:`app.alerts.services`): the universe as arrays, condition and formula masks, scopes,
the candidate firings; :mod:`app.alerts.firing` claims and writes them."""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select, update

from app.alerts import firing, scopes
from app.alerts.rules import INDICATOR_FIELDS, ONE_BAR_SNAPSHOT, _light
from app.database import utcnow
from app.extensions import db
from app.models import Snapshot, Stock, StockIndicator
from app.models.alerts import (
    ACTIVE,
    CHANGE_ABOVE,
    CHANGE_BELOW,
    CROSSES_ABOVE,
    CROSSES_BELOW,
    EXPIRED,
    FORMULA,
    ONCE,
    PRICE_ABOVE,
    PRICE_BELOW,
    SCOPE_SYMBOL,
    SCOPE_UNIVERSE,
    SCREEN_ENTER,
    SCREEN_EXIT,
    VOLUME_SPIKE,
    AlertRule,
)

log = logging.getLogger(__name__)



@dataclass
class Universe:
    stock_ids: np.ndarray
    symbols: list[str]
    position: dict[int, int]
    price: np.ndarray
    prev_price: np.ndarray
    change_pct: np.ndarray
    rel_volume: np.ndarray
    fresh: np.ndarray
    snapshot_at: dt.datetime | None
    data: Any  # SeriesData, built lazily for formulas
    columns: dict[str, np.ndarray]
    text: dict[str, list]
    sessions: list = field(default_factory=list)  # each snapshot's session date (daily-bar history)


def _arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def load_universe(fresh_since: dt.datetime | None = None) -> Universe:
    snap_cols = ["price", "prev_price", "change_pct", "prev_change_pct", "volume", "prev_volume", "rel_volume",
                 *ONE_BAR_SNAPSHOT]
    cols = [Stock.id, Stock.symbol, Stock.sector, Stock.industry, Stock.exchange, Snapshot.updated_at,
            *[getattr(Snapshot, c) for c in snap_cols], *[getattr(StockIndicator, c) for c in INDICATOR_FIELDS],
            Snapshot.session]
    rows = db.session.execute(
        select(*cols).join(Snapshot, Snapshot.stock_id == Stock.id)
        .outerjoin(StockIndicator, StockIndicator.stock_id == Stock.id)
        .where(Stock.active.is_(True)).order_by(Stock.id)).all()
    n = len(rows)
    colv = list(zip(*rows, strict=True)) if rows else [[] for _ in cols]
    ids = np.array(colv[0], dtype=np.int64)
    updated = colv[5]
    columns = {}
    for i, name in enumerate([*snap_cols, *INDICATOR_FIELDS]):
        columns[name] = _arr(colv[6 + i])
    if fresh_since is not None and n:
        fresh = np.array([u is not None and u >= fresh_since for u in updated], dtype=bool)
    else:
        fresh = np.ones(n, dtype=bool)
    snapshot_at = max((u for u in updated if u is not None), default=None)
    return Universe(
        stock_ids=ids, symbols=list(colv[1]), position={int(s): i for i, s in enumerate(ids)},
        price=columns["price"], prev_price=columns["prev_price"], change_pct=columns["change_pct"],
        rel_volume=columns["rel_volume"], fresh=fresh, snapshot_at=snapshot_at, data=None, columns=columns,
        text={"sector": list(colv[2]), "industry": list(colv[3]), "exchange": list(colv[4])},
        sessions=list(colv[-1]),
    )


def series_data(u: Universe):
    from app.rules import SeriesData

    if u.data is None:
        c = u.columns
        two = lambda prev, cur: np.column_stack([prev, cur])  # noqa: E731
        fields = {
            "close": two(c["prev_price"], c["price"]), "price": two(c["prev_price"], c["price"]),
            "volume": two(c["prev_volume"], c["volume"]),
            "change_pct": two(c["prev_change_pct"], c["change_pct"]),
            "rel_volume": c["rel_volume"], "avg_volume": _avg_volume(c),
            **{k: c[k] for k in ONE_BAR_SNAPSHOT}, **{k: c[k] for k in INDICATOR_FIELDS},
        }
        u.data = SeriesData(fields, text=u.text, symbols=u.symbols)
    return u.data


def _avg_volume(c) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(c["rel_volume"] > 0, c["volume"] / c["rel_volume"], np.nan)


def _condition_mask(u: Universe, c: dict, cache: dict, errors: dict) -> np.ndarray:
    kind = c["kind"]
    key = (kind, c.get("value"), c.get("formula"))
    got = cache.get(key)
    if got is not None:
        return got
    v = c.get("value")
    with np.errstate(invalid="ignore"):
        if kind == PRICE_ABOVE:
            m = u.price > v
        elif kind == PRICE_BELOW:
            m = u.price < v
        elif kind == CROSSES_ABOVE:
            m = (u.prev_price <= v) & (u.price > v)
        elif kind == CROSSES_BELOW:
            m = (u.prev_price >= v) & (u.price < v)
        elif kind == CHANGE_ABOVE:
            m = u.change_pct > v
        elif kind == CHANGE_BELOW:
            m = u.change_pct < v
        elif kind == VOLUME_SPIKE:
            m = u.rel_volume >= v
        else:  # formulas are evaluated in bulk by _formula_masks; screen membership by scopes
            m = np.zeros(len(u.stock_ids), dtype=bool)
    cache[key] = m
    return m


def _history_inputs(u: Universe, previous: bool) -> tuple[dict, dict]:
    """(live OHLCV, stored 1-D fields) of the quote ending the bars: the current one, or the
    previous 1-minute one (``prev_*``; open/high/low of the session so far are the current ones)."""
    c = u.columns
    price = c["prev_price"] if previous else c["price"]
    live = {"open": c["open"], "high": c["high"], "low": c["low"], "close": price,
            "volume": c["prev_volume"] if previous else c["volume"]}
    stored = {"price": price, "change_pct": c["prev_change_pct"] if previous else c["change_pct"],
              "rel_volume": c["rel_volume"], "avg_volume": _avg_volume(c),
              **{k: c[k] for k in ONE_BAR_SNAPSHOT}, **{k: c[k] for k in INDICATOR_FIELDS}}
    return live, stored


def _formula_masks(u: Universe, rules: list[AlertRule], cache: dict, errors: dict) -> None:
    """Every distinct formula compiled once and evaluated together over the universe.

    Formulas answered by the last two 1-minute values are evaluated on (previous, current)
    columns: ``crosses_above(price, 190)`` compares the two quotes. Formulas needing history
    are evaluated on the daily bars ending with the current quote (:func:`_history_masks`).
    A formula that does not compile or evaluate matches nothing; its error is kept."""
    from app.rules import CROSS_SECTION, RuleError, compile_rule, evaluate_many

    n = len(u.stock_ids)
    texts = sorted({c["formula"] for r in rules for c in r.conditions if c.get("kind") == FORMULA})
    if not texts or not n:
        for t in texts:
            cache[(FORMULA, None, t)] = np.zeros(n, dtype=bool)
        return
    light, history = [], []
    for t in texts:
        try:
            rule = compile_rule(t, expect="condition")
        except RuleError as exc:
            errors[t] = str(exc)
            cache[(FORMULA, None, t)] = np.zeros(n, dtype=bool)
            continue
        (light if _light(rule) else history).append(rule)
    if light:
        _store_masks(u, cache, errors, light, evaluate_many(light, series_data(u), CROSS_SECTION, time_limit=5.0))
    if history:
        _history_masks(u, history, cache, errors)


def _store_masks(u: Universe, cache: dict, errors: dict, batch, results, prev_results=None) -> None:
    """Cache each rule's mask; with ``prev_results`` only the false -> true transitions."""
    from app.rules import RuleError

    n = len(u.stock_ids)
    for i, (rule, res) in enumerate(zip(batch, results, strict=True)):
        if prev_results is not None and not isinstance(res, RuleError):
            prev = prev_results[i]
            if isinstance(prev, RuleError):
                res = prev
            else:
                with np.errstate(invalid="ignore"):
                    res = np.asarray(res, dtype=bool) & ~np.asarray(prev, dtype=bool) & np.isfinite(u.prev_price)
        if isinstance(res, RuleError):
            errors[rule.text] = str(res)
            res = np.zeros(n, dtype=bool)
        cache[(FORMULA, None, rule.text)] = np.asarray(res, dtype=bool)


def _history_masks(u: Universe, history: list, cache: dict, errors: dict) -> None:
    """History formulas on the daily bars ending with the live quote (the builder shared with
    the screener, :func:`app.market.series.build_series`); those containing a cross are also
    evaluated on the bars ending with the previous 1-minute quote and fire only on a
    false -> true transition (once per crossing). Other history formulas keep the usual
    trigger/cooldown logic."""
    from app.market.series import build_series, is_cross
    from app.rules import CROSS_SECTION, evaluate_many

    n = len(u.stock_ids)
    ids, sessions = u.stock_ids, u.sessions or [None] * n
    try:
        live, stored = _history_inputs(u, previous=False)
        current = build_series(history, ids, sessions, live, stored, text=u.text, symbols=u.symbols)
        crosses = [r for r in history if is_cross(r)]
        plain = [r for r in history if not is_cross(r)]
        if plain:
            _store_masks(u, cache, errors, plain, evaluate_many(plain, current, CROSS_SECTION, time_limit=5.0))
        if crosses:
            live, stored = _history_inputs(u, previous=True)  # same rules: same width
            before = build_series(history, ids, sessions, live, stored, text=u.text, symbols=u.symbols)
            _store_masks(u, cache, errors, crosses, evaluate_many(crosses, current, CROSS_SECTION, time_limit=5.0),
                         evaluate_many(crosses, before, CROSS_SECTION, time_limit=5.0))
    except Exception as exc:  # a broken history load must not stop the other alerts
        log.exception("alert history formulas failed")
        for rule in history:
            errors[rule.text] = f"history unavailable: {exc}"
            cache[(FORMULA, None, rule.text)] = np.zeros(n, dtype=bool)


def expire_rules(now: dt.datetime) -> int:
    n = db.session.execute(update(AlertRule).where(AlertRule.status == ACTIVE, AlertRule.expires_at.is_not(None),
                                                   AlertRule.expires_at <= now)
                           .values(status=EXPIRED)).rowcount
    db.session.commit()
    return n


@dataclass
class CycleResult:
    rules: int = 0
    candidates: int = 0
    fired: int = 0
    deliveries: int = 0
    expired: int = 0
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    latency_ms: float | None = None

    def done(self, t0: float) -> CycleResult:
        self.seconds = time.perf_counter() - t0
        return self


@dataclass
class Hits:
    """The candidate firings of one cycle: (rule, stock, cooldown) triples, screen entry/exit
    changes with their time, and each (rule, stock)'s position in the universe."""
    candidates: list[tuple[int, int, int | None]] = field(default_factory=list)
    changes: list[tuple[int, int, int | None, dt.datetime]] = field(default_factory=list)
    pos: dict[tuple[int, int], int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.candidates) + len(self.changes)


def _symbol_hits(u: Universe, rule: AlertRule, cache: dict, errors: dict) -> tuple[int, ...]:
    p = u.position.get(rule.stock_id)
    if p is None or not u.fresh[p]:
        return ()
    if all(_condition_mask(u, c, cache, errors)[p] for c in rule.conditions):
        return (p,)
    return ()


def _scope_hits(u: Universe, rule: AlertRule, members: dict, all_idx: np.ndarray, cache: dict,
                errors: dict) -> np.ndarray:
    """Positions of a watchlist / screen / whole-market rule's matches: the AND of its
    condition masks (cached per condition set) read at the scope's positions."""
    conds = rule.conditions
    idx = all_idx if rule.scope_kind == SCOPE_UNIVERSE else members.get(rule.id, ())
    if len(idx) == 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.asarray(idx, dtype=np.int64)
    key = tuple((c["kind"], c.get("value"), c.get("formula")) for c in conds)
    mask = cache.get(key)
    if mask is None:
        mask = _condition_mask(u, conds[0], cache, errors)
        for c in conds[1:]:
            mask = mask & _condition_mask(u, c, cache, errors)
        mask = mask & u.fresh
        cache[key] = mask
    return idx[mask[idx]]


def collect_hits(u: Universe, rules: list[AlertRule], members: dict, cache: dict, errors: dict) -> Hits:
    hits = Hits()
    all_idx = np.arange(len(u.stock_ids))
    for rule in rules:
        conds = rule.conditions or []
        if not conds:
            continue
        cd = None if rule.trigger_mode == ONCE else rule.cooldown_minutes
        if conds[0]["kind"] in (SCREEN_ENTER, SCREEN_EXIT) and rule.scope_kind != SCOPE_SYMBOL:
            for p, event_at in members.get((rule.id, conds[0]["kind"]), ()):
                sid = int(u.stock_ids[p])
                hits.changes.append((rule.id, sid, cd, event_at))
                hits.pos[(rule.id, sid)] = p
            continue
        if rule.scope_kind == SCOPE_SYMBOL:
            idx = _symbol_hits(u, rule, cache, errors)
        else:
            idx = _scope_hits(u, rule, members, all_idx, cache, errors)
        for p in idx:
            p = int(p)
            sid = int(u.stock_ids[p])
            hits.candidates.append((rule.id, sid, cd))
            hits.pos[(rule.id, sid)] = p
    return hits


def _fresh_since(run_id: int | None) -> dt.datetime | None:
    """Snapshots written by this run's cycle (older ones are stale: a failed symbol)."""
    from app.models.market import ScanRun

    if run_id is None:
        return None
    run = db.session.get(ScanRun, run_id)
    return run.started_at if run else None


def evaluate_cycle(*, run_id: int | None = None, version: int | None = None, now: dt.datetime | None = None,
                   enqueue_deliveries: bool = True) -> CycleResult:
    """Evaluate every active alert rule on the current snapshots (one cycle)."""
    t0 = time.perf_counter()
    now = now or utcnow()
    res = CycleResult()
    res.expired = expire_rules(now)
    rules = list(db.session.scalars(select(AlertRule).where(AlertRule.status == ACTIVE).order_by(AlertRule.id)))
    res.rules = len(rules)
    if not rules:
        return res.done(t0)
    u = load_universe(_fresh_since(run_id))
    res.timings["load"] = time.perf_counter() - t0
    cache: dict = {}
    _formula_masks(u, rules, cache, res.errors)
    res.timings["formulas"] = time.perf_counter() - t0
    hits = collect_hits(u, rules, scopes.resolve(u, rules), cache, res.errors)
    res.candidates = len(hits)
    res.timings["evaluate"] = time.perf_counter() - t0
    if not res.candidates:
        return res.done(t0)
    won = firing.claim(hits.candidates, now) | firing.claim_changes(hits.changes, now)
    res.timings["claim"] = time.perf_counter() - t0
    if not won:
        db.session.rollback()
        return res.done(t0)
    rules_by_id, fired_at = {r.id: r for r in rules}, utcnow()
    inserted = firing.write_events(u, rules_by_id, won, hits.pos, version, fired_at)
    queued_ids = firing.write_deliveries(rules_by_id, inserted, now, fired_at)
    res.fired, res.deliveries = len(inserted), len(queued_ids)
    db.session.commit()
    res.timings["write"] = time.perf_counter() - t0
    if u.snapshot_at:
        res.latency_ms = (utcnow() - u.snapshot_at).total_seconds() * 1000
    firing.after_commit(inserted, queued_ids, enqueue=enqueue_deliveries)
    res.timings["enqueue"] = time.perf_counter() - t0
    if res.errors:
        log.warning("alert formulas failed this cycle: %s", res.errors)
    return res.done(t0)
