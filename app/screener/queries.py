"""The screen engine: standard filters compiled to SQL over stocks/snapshots/indicators,
the formula evaluated with the rule language (cross-section) on the rows SQL left.

Both paths compute each quantity the same way (same columns, same arithmetic in the same
order, NULL/NaN excluded, division by zero unknown), so a filter gives the same rows
whichever path it takes -- :func:`run_screen` with ``force_formula=True`` sends every filter
through the rule language, and the tests compare the two.

Formula data: the rule's fields are handed to :class:`~app.rules.SeriesData` as the stored
per-stock values (1-D) where they exist (``rsi14``, ``sma50``, ``price``...); only rules that
need history (``sma(close, 50)``, ``rsi(14)``, ``highest(high, 20)``) get OHLCV matrices of
the last daily bars, whose last column is today's snapshot -- built by
:mod:`app.market.series` (shared with the alerts). The daily matrices are cached per process
and keyed by the latest daily scanner run, so a formula screen reads only the candidates'
snapshot rows per request.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Select, func, literal, select

from app.errors import InvalidInput
from app.extensions import db
from app.market.series import BAR_FIELDS, build_series, clear_bar_cache
from app.models.market import Snapshot, Stock, StockIndicator
from app.models.screener import WatchlistItem
from app.rules import CROSS_SECTION, RuleError, compile_rule
from app.screener.definition import COLUMNS, FILTERS, TEXT, Filter, ScreenDefinition

S, I, K = Snapshot, StockIndicator, Stock  # noqa: E741
FORMULA_TIME_LIMIT = 3.0


def _pct(a, b):
    """(a / b - 1) * 100 with b = 0 unknown (NULL), as numpy does with NaN."""
    return (a / func.nullif(b, 0) - 1) * 100


def _market_cap():
    return func.coalesce(S.market_cap, K.market_cap)


#: every quantity by key: the filter/column/sort expression
def _quantities() -> dict:
    return {
        "symbol": K.symbol, "name": K.name,
        "price": S.price, "change": S.change, "change_pct": S.change_pct, "volume": S.volume,
        "avg_volume": S.avg_volume, "rel_volume": S.rel_volume, "market_cap": _market_cap(),
        "rsi": I.rsi14, "sector": K.sector, "industry": K.industry, "exchange": K.exchange,
        "type": K.asset_type, "gap_pct": S.gap_pct, "atr_pct": I.atr14 / func.nullif(S.price, 0) * 100,
        "price_vs_sma20": _pct(S.price, I.sma20), "price_vs_sma50": _pct(S.price, I.sma50),
        "price_vs_sma200": _pct(S.price, I.sma200), "sma50_vs_sma200": _pct(I.sma50, I.sma200),
        "from_high": _pct(S.price, S.week52_high), "from_low": _pct(S.price, S.week52_low),
    }


Q = _quantities()

#: the rule language's fields as stored per-stock values (formula path, 1-D)
RULE_FIELDS = {
    "price": S.price, "close": S.price, "open": S.open, "high": S.high, "low": S.low,
    "volume": S.volume, "change_pct": S.change_pct, "gap_pct": S.gap_pct, "rel_volume": S.rel_volume,
    "avg_volume": S.avg_volume, "market_cap": _market_cap(), "week52_high": S.week52_high,
    "week52_low": S.week52_low, "rsi14": I.rsi14, "sma20": I.sma20, "sma50": I.sma50,
    "sma200": I.sma200, "ema12": I.ema12, "ema26": I.ema26, "atr14": I.atr14, "macd": I.macd,
    "macd_signal": I.macd_signal, "macd_hist": I.macd_hist, "bb_upper": I.bb_upper,
    "bb_lower": I.bb_lower,
}
TEXT_FIELDS = {"sector": K.sector, "industry": K.industry, "exchange": K.exchange, "asset_type": K.asset_type}


def filter_clause(f: Filter):
    """One standard filter as a SQL condition."""
    expr = Q[f.field]
    if f.spec.kind == TEXT:
        low = func.lower(expr)
        values = [v.casefold() for v in f.values]
        return low.in_(values) if f.op == "in" else low == values[0]
    v = f.values
    return {
        "gt": lambda: expr > v[0], "gte": lambda: expr >= v[0], "lt": lambda: expr < v[0],
        "lte": lambda: expr <= v[0], "eq": lambda: expr == v[0],
        "between": lambda: expr.between(v[0], v[1]),
    }[f.op]()


def _base(columns, defn: ScreenDefinition, user=None, *, sql_filters=True) -> Select:
    q = (select(*columns).select_from(K).join(S, S.stock_id == K.id).outerjoin(I, I.stock_id == K.id)
         .where(K.active.is_(True)))
    if sql_filters:
        for f in defn.filters:
            q = q.where(filter_clause(f))
    if defn.watchlist_id is not None:
        from app.watchlists.services import get_watchlist

        wl = get_watchlist(user, defn.watchlist_id) if user is not None else None
        if wl is None:
            raise InvalidInput("Unknown watchlist.", field="wl")
        q = q.where(K.id.in_(select(WatchlistItem.stock_id).where(WatchlistItem.watchlist_id == wl.id)))
    return q


def _order(defn: ScreenDefinition):
    expr = Q[defn.sort]
    key = expr.desc() if defn.direction == "desc" else expr.asc()
    return [key.nulls_last(), K.symbol.asc()]


@dataclass
class ScreenResult:
    definition: ScreenDefinition
    rows: list[dict]
    total: int
    page: int
    page_size: int
    as_of: dt.datetime | None = None
    sources: set = field(default_factory=set)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def simulated(self) -> bool:
        return "simulated" in self.sources

    @property
    def first(self) -> int:
        return (self.page - 1) * self.page_size + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.page_size)


def _row_columns(defn: ScreenDefinition):
    keys = list(dict.fromkeys(["symbol", "name", *defn.columns]))
    cols = [K.id.label("stock_id"), S.as_of.label("_as_of"), S.source.label("_source")]
    cols += [Q[k].label(k) for k in keys]
    return cols


def _rows(result) -> list[dict]:
    return [dict(r._mapping) for r in result]


def run_screen(defn: ScreenDefinition, *, user=None, page: int = 1, all_rows: bool = False,
               force_formula: bool = False) -> ScreenResult:
    """The page ``page`` of the screen's results (or every row with ``all_rows``).

    ``user`` is needed for the watchlist scope (an id the user does not own raises
    InvalidInput). ``force_formula`` evaluates every standard filter with the rule language
    instead of SQL (for tests and the agreement check). Rule errors raise InvalidInput on
    the ``q`` field; never a 500."""
    page = max(1, int(page or 1))
    size = defn.page_size
    rule_text = defn.rule_text(all_filters=force_formula)
    if not rule_text:
        q = _base([*_row_columns(defn), func.count().over().label("_total")], defn, user).order_by(*_order(defn))
        if not all_rows:
            q = q.limit(size).offset((page - 1) * size)
        rows = _rows(db.session.execute(q))
        if rows:
            total = rows[0]["_total"]
        else:
            total = db.session.scalar(_base([func.count()], defn, user).order_by(None)) if page > 1 else 0
        return _result(defn, rows, total, page, size if not all_rows else max(total, 1))
    ids = matching_ids(defn, user=user, force_formula=force_formula)
    total = len(ids)
    chosen = ids if all_rows else ids[(page - 1) * size: page * size]
    rows = []
    if chosen:
        got = {}
        for start in range(0, len(chosen), 900):
            chunk = chosen[start:start + 900]
            for r in _rows(db.session.execute(
                    select(*_row_columns(defn)).select_from(K).join(S, S.stock_id == K.id)
                    .outerjoin(I, I.stock_id == K.id).where(K.id.in_(chunk)))):
                got[r["stock_id"]] = r
        rows = [got[i] for i in chosen if i in got]
    return _result(defn, rows, total, page, size if not all_rows else max(total, 1))


def _result(defn, rows, total, page, size) -> ScreenResult:
    as_of = max((r["_as_of"] for r in rows if r["_as_of"] is not None), default=None)
    if as_of is None:
        as_of = db.session.scalar(select(func.max(S.as_of)))
    sources = {r["_source"] for r in rows} or set(db.session.scalars(select(S.source).limit(1)))
    return ScreenResult(defn, rows, int(total or 0), page, size, as_of, sources)


def matching_ids(defn: ScreenDefinition, *, user=None, force_formula: bool = False) -> list[int]:
    """Every stock id the screen selects, in the screen's sort order."""
    rule_text = defn.rule_text(all_filters=force_formula)
    if not rule_text:
        q = _base([K.id], defn, user).order_by(*_order(defn))
        return list(db.session.scalars(q))
    try:
        rule = compile_rule(rule_text, expect="condition")
    except RuleError as exc:
        raise InvalidInput(f"Formula: {exc}", field="q") from None
    live_cols = {"open": S.open, "high": S.high, "low": S.low, "close": S.price, "volume": S.volume}
    wanted = [n for n in rule.fields if n in RULE_FIELDS and n not in BAR_FIELDS]
    texts = [n for n in rule.fields if n in TEXT_FIELDS]
    cols = [K.id.label("id")] + [RULE_FIELDS[n].label(n) for n in wanted] + [
        TEXT_FIELDS[n].label(n) for n in texts]
    cols += [S.session.label("_session")] + [c.label("_" + n) for n, c in live_cols.items()]
    q = _base(cols, defn, user, sql_filters=not force_formula).order_by(*_order(defn))
    frame = pd.DataFrame(db.session.execute(q).all(), columns=[c.name for c in cols])
    if frame.empty:
        return []
    num = lambda c: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64)  # noqa: E731
    data = build_series([rule], frame["id"].to_numpy(dtype=np.int64), frame["_session"].tolist(),
                        {n: num("_" + n) for n in live_cols}, {n: num(n) for n in wanted},
                        {n: frame[n].tolist() for n in texts}, symbols=frame["id"].tolist())
    try:
        mask = rule.evaluate(data, CROSS_SECTION, time_limit=FORMULA_TIME_LIMIT)
    except RuleError as exc:
        raise InvalidInput(f"Formula: {exc}", field="q") from None
    return frame["id"].to_numpy()[mask].astype(int).tolist()


def stock_rows(stock_ids: list[int]) -> dict[int, dict]:
    """Quote columns for a set of stocks (watchlists, home widget)."""
    if not stock_ids:
        return {}
    cols = [K.id.label("stock_id"), K.symbol, K.name, S.price, S.change, S.change_pct, S.volume,
            S.rel_volume, S.as_of, S.source, literal(1).label("_")]
    out = {}
    for start in range(0, len(stock_ids), 900):
        q = (select(*cols).select_from(K).outerjoin(S, S.stock_id == K.id)
             .where(K.id.in_(stock_ids[start:start + 900])))
        for r in db.session.execute(q):
            out[r.stock_id] = dict(r._mapping)
    return out


def top_movers(limit: int = 5) -> dict[str, list[dict]]:
    """Biggest gainers and losers (home widget)."""
    base = (select(K.id.label("stock_id"), K.symbol, K.name, S.price, S.change_pct, S.as_of, S.source)
            .join(S, S.stock_id == K.id).where(K.active.is_(True), K.asset_type == "stock",
                                              S.change_pct.is_not(None)))
    up = _rows(db.session.execute(base.where(S.change_pct > 0).order_by(S.change_pct.desc(), K.symbol).limit(limit)))
    down = _rows(db.session.execute(base.where(S.change_pct < 0).order_by(S.change_pct.asc(), K.symbol).limit(limit)))
    return {"gainers": up, "losers": down}


def known_values(key: str, limit: int = 300) -> list[str]:
    """The distinct sectors / industries / exchanges (for the filter's suggestions)."""
    col = K.asset_type if key == "type" else TEXT_FIELDS[key]
    return [v for v in db.session.scalars(select(col).where(col.is_not(None), K.active.is_(True))
                                          .distinct().order_by(col).limit(limit)) if v]


__all__ = ["COLUMNS", "FILTERS", "ScreenResult", "clear_bar_cache", "matching_ids", "run_screen",
           "stock_rows", "top_movers", "known_values"]
