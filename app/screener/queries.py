"""The screen engine: standard filters compiled to SQL over stocks/snapshots/indicators,
the formula evaluated with the rule language (cross-section) on the rows SQL left.

Both paths compute each quantity the same way (same columns, same arithmetic in the same
order, NULL/NaN excluded, division by zero unknown), so a filter gives the same rows
whichever path it takes -- :func:`run_screen` with ``force_formula=True`` sends every filter
through the rule language, and the tests compare the two.

Formula data: the rule's fields are handed to :class:`~app.rules.SeriesData` as the stored
per-stock values (1-D) where they exist (``rsi14``, ``sma50``, ``price``...); only rules that
need history (``sma(close, 50)``, ``rsi(14)``, ``highest(high, 20)``) get OHLCV matrices of
the last daily bars, whose last column is today's snapshot. The daily matrices are cached per
process and keyed by the latest daily scanner run, so a formula screen reads only the
candidates' snapshot rows per request.
"""
from __future__ import annotations

import datetime as dt
import math
import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Select, func, literal, select

from app.errors import InvalidInput
from app.extensions import db
from app.models.market import Bar, ScanRun, Snapshot, Stock, StockIndicator
from app.models.screener import WatchlistItem
from app.rules import CROSS_SECTION, RuleError, SeriesData, compile_rule
from app.screener.definition import COLUMNS, FILTERS, TEXT, Filter, ScreenDefinition

S, I, K = Snapshot, StockIndicator, Stock  # noqa: E741
FORMULA_TIME_LIMIT = 3.0
MAX_BARS = 260
UNBOUNDED_WARMUP = 120
_BUCKETS = (32, 64, 128, MAX_BARS)  # widths the daily-bar cache is loaded at
BAR_FIELDS = ("open", "high", "low", "close", "volume")


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
        "gap_pct": S.gap_pct, "atr_pct": I.atr14 / func.nullif(S.price, 0) * 100,
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
TEXT_FIELDS = {"sector": K.sector, "industry": K.industry, "exchange": K.exchange}


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
    needs_bars = bool(set(rule.fields) & set(BAR_FIELDS)) and max(rule.needs(CROSS_SECTION)) > 1
    wanted = [n for n in rule.fields if n in RULE_FIELDS and not (needs_bars and n in BAR_FIELDS)]
    texts = [n for n in rule.fields if n in TEXT_FIELDS]
    cols = [K.id.label("id")] + [RULE_FIELDS[n].label(n) for n in wanted] + [
        TEXT_FIELDS[n].label(n) for n in texts]
    if needs_bars:
        cols += [S.session.label("_session"), S.open.label("_open"), S.high.label("_high"),
                 S.low.label("_low"), S.price.label("_close"), S.volume.label("_volume")]
    q = _base(cols, defn, user, sql_filters=not force_formula).order_by(*_order(defn))
    frame = pd.DataFrame(db.session.execute(q).all(), columns=[c.name for c in cols])
    if frame.empty:
        return []
    fields = {n: pd.to_numeric(frame[n], errors="coerce").to_numpy(dtype=np.float64) for n in wanted}
    if needs_bars:
        used = [n for n in BAR_FIELDS if n in rule.fields]
        fields.update(_bar_matrices(frame, _width(rule), used))
    data = SeriesData(fields, {n: frame[n].tolist() for n in texts}, symbols=frame["id"].tolist())
    try:
        mask = rule.evaluate(data, CROSS_SECTION, time_limit=FORMULA_TIME_LIMIT)
    except RuleError as exc:
        raise InvalidInput(f"Formula: {exc}", field="q") from None
    return frame["id"].to_numpy()[mask].astype(int).tolist()


# --------------------------------------------------------------------------- daily bars
_cache_lock = threading.Lock()
_cache: dict = {}


def clear_bar_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _bars_key() -> tuple:
    run_id = db.session.scalar(select(func.max(ScanRun.id)).where(ScanRun.kind == "1d",
                                                                  ScanRun.finished_at.is_not(None)))
    return (str(db.engine.url), run_id)


def _load_bars(width: int) -> dict:
    """OHLCV of the last ``width`` daily bars of every stock: (ids, last bar date, matrices)."""
    latest = db.session.scalar(select(func.max(Bar.ts)).where(Bar.interval == "1d",
                                                             Bar.stock_id == select(func.min(K.id)).scalar_subquery()))
    latest = latest or db.session.scalar(select(func.max(Bar.ts)).where(Bar.interval == "1d"))
    if latest is None:
        return {"ids": np.array([], dtype=np.int64), "width": width}
    since = latest - dt.timedelta(days=int(width * 1.5) + 14)
    t = Bar.__table__
    rows = db.session.execute(select(t.c.stock_id, t.c.ts, t.c.open, t.c.high, t.c.low, t.c.close, t.c.volume)
                              .where(t.c.interval == "1d", t.c.ts >= since)
                              .order_by(t.c.stock_id, t.c.ts)).all()
    df = pd.DataFrame(rows, columns=["stock_id", "ts", *BAR_FIELDS])
    ids = np.unique(df["stock_id"].to_numpy(dtype=np.int64))
    k = df.groupby("stock_id").cumcount(ascending=False).to_numpy()
    keep = k < width
    df, k = df[keep], k[keep]
    r = np.searchsorted(ids, df["stock_id"].to_numpy(dtype=np.int64))
    c = width - 1 - k
    out = {"ids": ids, "width": width}
    for name in BAR_FIELDS:
        m = np.full((len(ids), width), np.nan)
        m[r, c] = df[name].to_numpy(dtype=np.float64)
        out[name] = m
    last = df.groupby("stock_id")["ts"].max()
    out["last_date"] = np.array([pd.Timestamp(v).date() for v in last.reindex(ids)], dtype=object)
    return out


def _bars_for(width: int) -> dict:
    bucket = next(b for b in _BUCKETS if b >= width)
    key = _bars_key()
    with _cache_lock:
        got = _cache.get("bars")
        if got is not None and got["key"] == key and got["data"]["width"] >= bucket:
            return got["data"]
    data = _load_bars(bucket)
    with _cache_lock:
        _cache["bars"] = {"key": key, "data": data}
    return data


def _width(rule) -> int:
    """Bars of history a rule gets: what its windows need (up to MAX_BARS); recursive
    indicators with no fixed window (Wilder RSI, EMA) get UNBOUNDED_WARMUP bars."""
    from app.rules.compiler import BIG

    return max(min(n, UNBOUNDED_WARMUP) if n >= BIG else min(n, MAX_BARS) for n in rule.needs(CROSS_SECTION))


def _bar_matrices(frame: pd.DataFrame, width: int, names=BAR_FIELDS) -> dict:
    """(candidates, width) OHLCV with today's snapshot as the last bar."""
    data = _bars_for(width)
    n = len(frame)
    ids = frame["id"].to_numpy(dtype=np.int64)
    all_ids = data["ids"]
    pos = np.searchsorted(all_ids, ids) if len(all_ids) else np.zeros(n, dtype=int)
    found = (pos < len(all_ids)) & (all_ids[np.minimum(pos, max(len(all_ids) - 1, 0))] == ids) if len(all_ids) \
        else np.zeros(n, dtype=bool)
    w = min(width, data["width"])
    sess = frame["_session"].to_numpy(dtype=object)
    last = np.full(n, None, dtype=object)
    if len(all_ids):
        last[found] = data["last_date"][pos[found]]
    # a snapshot of a later session than the last daily bar is a new bar: shift left
    newer = np.array([s is not None and (b is None or s > b) for s, b in zip(sess, last, strict=True)], dtype=bool)
    out = {}
    rows = pos[found]
    for name in names:
        m = np.full((n, w), np.nan)
        if len(all_ids):
            m[found] = data[name][rows, -w:]
        m[newer, :-1] = m[newer, 1:]
        m[newer, -1] = np.nan
        live = pd.to_numeric(frame["_" + name], errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(live)
        m[ok, -1] = live[ok]
        out[name] = m
    return out


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
            .join(S, S.stock_id == K.id).where(K.active.is_(True), S.change_pct.is_not(None)))
    up = _rows(db.session.execute(base.where(S.change_pct > 0).order_by(S.change_pct.desc(), K.symbol).limit(limit)))
    down = _rows(db.session.execute(base.where(S.change_pct < 0).order_by(S.change_pct.asc(), K.symbol).limit(limit)))
    return {"gainers": up, "losers": down}


def known_values(key: str, limit: int = 300) -> list[str]:
    """The distinct sectors / industries / exchanges (for the filter's suggestions)."""
    col = TEXT_FIELDS[key]
    return [v for v in db.session.scalars(select(col).where(col.is_not(None), K.active.is_(True))
                                          .distinct().order_by(col).limit(limit)) if v]


__all__ = ["COLUMNS", "FILTERS", "ScreenResult", "clear_bar_cache", "matching_ids", "run_screen",
           "stock_rows", "top_movers", "known_values"]
