"""Market data services: universe, bulk upserts, the three scanner rhythms, proxies, demo.

The scanners fan out: :func:`start_cycle` checks the clock, takes a Redis lock, records a
:class:`ScanRun` and enqueues one :func:`app.market.tasks.run_chunk` job per chunk of
stocks on the ``scans`` queue; every chunk adds its counts to the run with SQL increments
and the chunk that completes the run finalises it (status, lock release, version bump,
hooks). Nothing is kept in process memory between jobs.

All writes are bulk upserts (``INSERT ... ON CONFLICT DO UPDATE``) through the dialect's
insert construct: executemany on SQLite, COPY into a temporary table then
``INSERT ... SELECT ... ON CONFLICT`` on PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import io
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import Column, MetaData, Table, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.database import utcnow
from app.extensions import db
from app.market import calendar as mcal
from app.market import compute, fundamentals, hooks, proxies
from app.market.fetching import FetchStats, NoLimit, RateLimiter, fetch_batched
from app.market.providers import BarBatch, Provider, QuoteBatch, get_provider
from app.models.market import (
    RUN_FAILED,
    RUN_PARTIAL,
    RUN_RUNNING,
    RUN_SUCCEEDED,
    SCAN_KINDS,
    Bar,
    ProxyEndpoint,
    ScanRun,
    Snapshot,
    Stock,
    StockIndicator,
)
from app.redis_store import get_redis

log = logging.getLogger(__name__)

SNAPSHOT_VERSION_KEY = "market:snapshot_version"
LOCK_TTL = {"1m": 55, "10m": 9 * 60, "1d": 2 * 3600}
#: daily history read back for the indicators (SMA 200 and the 52-week range need ~260)
DAILY_LOOKBACK_DAYS = 420
INITIAL_DAILY_DAYS = 400


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class MarketSettings:
    provider: str
    clock: str
    seed: int
    csv_dir: str | None
    rate_limit: float
    batch_size: int
    min_chunk: int
    chunk_size: int
    retention_10m_days: int
    retention_1m_days: int
    store_1m_bars: bool


def settings() -> MarketSettings:
    c = current_app.config
    provider = (c.get("MARKET_DATA_PROVIDER") or "simulated").lower()
    clock = c.get("MARKET_CLOCK") or (mcal.ALWAYS_OPEN if provider == "simulated" else mcal.CALENDAR)
    return MarketSettings(
        provider=provider, clock=clock, seed=int(c.get("MARKET_SEED", 42)),
        csv_dir=c.get("MARKET_DATA_CSV_DIR"), rate_limit=float(c.get("MARKET_RATE_LIMIT", 2.0)),
        batch_size=int(c.get("MARKET_BATCH_SIZE", 100)), min_chunk=int(c.get("MARKET_MIN_CHUNK", 5)),
        chunk_size=int(c.get("SCAN_CHUNK_SIZE", 500)),
        retention_10m_days=int(c.get("MARKET_RETENTION_10M_DAYS", 30)),
        retention_1m_days=int(c.get("MARKET_RETENTION_1M_DAYS", 5)),
        store_1m_bars=bool(c.get("MARKET_STORE_1M_BARS", False)),
    )


def provider_is_simulated() -> bool:
    return settings().provider == "simulated"


def current_provider(name: str | None = None) -> Provider:
    s = settings()
    name = name or s.provider
    clock = mcal.clock_for(s.clock, name == "simulated")
    return get_provider(name, seed=s.seed, csv_dir=s.csv_dir, always_open=clock.always_open)


def market_clock() -> mcal.MarketClock:
    s = settings()
    return mcal.clock_for(s.clock, s.provider == "simulated")


# --------------------------------------------------------------------------- bulk upsert
_tmp_counter = itertools.count()


def _frame_for_db(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            s = out[col]
            if s.dt.tz is None:
                s = s.dt.tz_localize("UTC")
            out[col] = s.dt.tz_convert("UTC")
    return out


def bulk_upsert(table: Table, df: pd.DataFrame, keys: list[str],
                update_cols: list[str] | None = None,
                set_overrides: Callable | None = None, where: Callable | None = None,
                conn=None) -> int:
    """Insert ``df`` (columns named like ``table``'s) or update on a key conflict.

    ``update_cols`` (default: every non-key column) take the incoming value;
    ``set_overrides(table, excluded) -> {col: expression}`` can compute others from the
    existing row (e.g. keep the previous price); ``where(table, excluded)`` limits which
    conflicting rows are updated. Returns the number of rows sent."""
    if df is None or df.empty:
        return 0
    conn = conn or db.session.connection()
    df = _frame_for_db(df, table)
    cols = list(df.columns)
    update_cols = [c for c in (update_cols if update_cols is not None else cols) if c not in keys]
    if conn.dialect.name == "postgresql":
        return _pg_upsert(conn, table, df, cols, keys, update_cols, set_overrides, where)
    return _sqlite_upsert(conn, table, df, cols, keys, update_cols, set_overrides, where)


def _set_clause(table, excluded, update_cols, set_overrides):
    clause = {c: excluded[c] for c in update_cols}
    if set_overrides:
        clause.update(set_overrides(table, excluded))
    return clause


def _sqlite_value(series: pd.Series):
    if pd.api.types.is_datetime64_any_dtype(series):
        # SQLAlchemy's SQLite DATETIME storage format (UTC; tz re-attached on read)
        s = series.dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        return s.astype(object).where(series.notna(), None)
    if pd.api.types.is_float_dtype(series):
        return series.astype(object).where(np.isfinite(series.to_numpy(dtype=float)), None)
    if series.dtype == object:
        return series.map(lambda v: v.isoformat() if isinstance(v, dt.date) else v).where(series.notna(), None)
    if pd.api.types.is_bool_dtype(series):
        return series.astype(int).astype(object)
    return series.astype(object)


def _sqlite_upsert(conn, table, df, cols, keys, update_cols, set_overrides, where) -> int:
    ins = sqlite.insert(table)
    set_ = _set_clause(table, ins.excluded, update_cols, set_overrides)
    if set_:
        stmt = ins.on_conflict_do_update(index_elements=keys, set_=set_,
                                         where=where(table, ins.excluded) if where else None)
    else:
        stmt = ins.on_conflict_do_nothing(index_elements=keys)
    compiled = stmt.compile(dialect=conn.dialect, column_keys=cols)
    order = compiled.positiontup
    values = {c: _sqlite_value(df[c]).tolist() for c in cols}
    n = len(df)
    rows = list(zip(*[values[name] for name in order], strict=True)) if order else [()] * n
    conn.exec_driver_sql(str(compiled), rows)
    return n


def _pg_upsert(conn, table, df, cols, keys, update_cols, set_overrides, where) -> int:
    name = f"tmp_upsert_{next(_tmp_counter)}_{uuid.uuid4().hex[:6]}"
    tmp = Table(name, MetaData(), *[Column(c, table.c[c].type) for c in cols], prefixes=["TEMPORARY"])
    # identifiers only, all from our own table metadata (table.c[c] above rejects others)
    col_list = ", ".join(f'"{c}"' for c in cols)
    conn.exec_driver_sql(f'CREATE TEMPORARY TABLE "{name}" ON COMMIT DROP AS '  # noqa: S608
                         f'SELECT {col_list} FROM "{table.name}" WITH NO DATA')
    buf = io.StringIO()
    out = df.copy()
    for c in cols:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].where(np.isfinite(out[c].to_numpy(dtype=float)))
        elif pd.api.types.is_datetime64_any_dtype(out[c]):
            # vectorised ISO text (pandas' date_format path is ~20x slower)
            vals = out[c].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
            txt = np.char.add(np.datetime_as_string(vals, unit="us"), "+00")
            out[c] = pd.Series(txt, index=out.index, dtype=object).where(out[c].notna(), None)
    out.to_csv(buf, header=False, index=False, na_rep="")
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy(f'COPY "{name}" ({col_list}) FROM STDIN WITH (FORMAT csv)') as cp:
            cp.write(buf.getvalue())
    ins = postgresql.insert(table)
    stmt = ins.from_select(cols, select(*[tmp.c[c] for c in cols]))
    set_ = _set_clause(table, ins.excluded, update_cols, set_overrides)
    if set_:
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_=set_,
                                          where=where(table, ins.excluded) if where else None)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    conn.execute(stmt)  # the staging table goes away at commit (ON COMMIT DROP)
    return len(df)


# --------------------------------------------------------------------------- universe
def seed_universe(rows: Iterable[dict] | None = None) -> int:
    """Upsert the universe (default: the pytickersymbols seed). Never deletes."""
    from app.market.universe import seed_universe as seed

    rows = list(rows if rows is not None else seed())
    if not rows:
        return 0
    now = utcnow()
    df = pd.DataFrame(rows)
    if "asset_type" not in df:
        df["asset_type"] = "stock"
    df = df[["symbol", "name", "exchange", "sector", "industry", "asset_type"]].copy()
    df["asset_type"] = df["asset_type"].fillna("stock")
    df["symbol"] = df["symbol"].str.upper()
    df = df.drop_duplicates("symbol", keep="last")
    df["active"] = True
    df["created_at"] = now
    df["updated_at"] = now
    n = bulk_upsert(Stock.__table__, df, ["symbol"],
                    update_cols=["name", "exchange", "sector", "industry", "asset_type", "updated_at"])
    db.session.commit()
    return n


def stock_ids(symbols: Iterable[str] | None = None, active_only: bool = True) -> pd.DataFrame:
    """``stock_id, symbol`` of active stocks (optionally only ``symbols``), by symbol."""
    q = select(Stock.id.label("stock_id"), Stock.symbol).order_by(Stock.symbol)
    if active_only:
        q = q.where(Stock.active.is_(True))
    if symbols is not None:
        syms = sorted({s.strip().upper() for s in symbols if s and s.strip()})
        q = q.where(Stock.symbol.in_(syms))
    rows = db.session.execute(q).all()
    return pd.DataFrame(rows, columns=["stock_id", "symbol"])


def _ids_frame(ids: list[int], with_shares: bool = False) -> pd.DataFrame:
    cols = [Stock.id, Stock.symbol] + ([Stock.shares_outstanding] if with_shares else [])
    rows = db.session.execute(select(*cols).where(Stock.id.in_(ids))).all()
    return pd.DataFrame(rows, columns=["stock_id", "symbol"] + (["shares_outstanding"] if with_shares else []))


# --------------------------------------------------------------------------- redis bits
def snapshot_version() -> int:
    """The snapshot version live pages derive their ETags from.

    A missing counter (first start, or Redis flushed/restarted) starts from the clock, not 0,
    so an ETag a browser kept from before the reset can never match newer data.
    """
    r = get_redis()
    r.set(SNAPSHOT_VERSION_KEY, time.time_ns() // 1000, nx=True)
    return int(r.get(SNAPSHOT_VERSION_KEY))


def live_version() -> int | None:
    """:func:`snapshot_version`, or None when Redis is down (live pages then always render)."""
    try:
        return snapshot_version()
    except Exception:
        return None


def bump_snapshot_version() -> int:
    pipe = get_redis().pipeline()
    pipe.set(SNAPSHOT_VERSION_KEY, time.time_ns() // 1000, nx=True)
    pipe.incr(SNAPSHOT_VERSION_KEY)
    return int(pipe.execute()[-1])


_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def lock_key(kind: str) -> str:
    return f"market:scan-lock:{kind}"


def acquire_lock(kind: str, token: str) -> bool:
    """The cycle lock: expiring, so a killed worker never blocks the next cycles for long."""
    return bool(get_redis().set(lock_key(kind), token, nx=True, ex=LOCK_TTL[kind]))


def release_lock(kind: str, token: str) -> None:
    get_redis().eval(_RELEASE_LUA, 1, lock_key(kind), token)


def rate_limiter(provider: Provider):
    if not provider.remote:
        return NoLimit()
    return RateLimiter(get_redis(), provider.name, rate=settings().rate_limit)


# --------------------------------------------------------------------------- proxies
class DbProxyBroker:
    """The proxy pool with its state in ``proxy_endpoints`` (shared by every worker).

    Uses its own short transactions so the scanner's unit of work is not committed by a
    proxy update."""

    def __init__(self, clock: Callable[[], dt.datetime] = utcnow):
        self.clock = clock

    def _session(self):
        from sqlalchemy.orm import Session
        return Session(db.engine)

    def pick(self) -> str | None:
        with self._session() as s:
            row = proxies.select(s.scalars(select(ProxyEndpoint).where(ProxyEndpoint.enabled.is_(True))).all(),
                                 self.clock())
            return row.url if row else None

    def report(self, url: str | None, ok: bool, latency_ms: float = 0.0, kind: str = "other",
               message: str = "") -> None:
        if url is None:
            return
        with self._session() as s:
            q = select(ProxyEndpoint).where(ProxyEndpoint.url == url)
            if s.bind.dialect.name == "postgresql":
                q = q.with_for_update()
            row = s.scalars(q).first()
            if row is None:
                return
            if ok:
                proxies.record_success(row, latency_ms, self.clock())
            else:
                proxies.record_failure(row, kind, self.clock(), message)
            s.commit()


def add_proxy(url: str) -> ProxyEndpoint:
    from urllib.parse import urlsplit

    from app.errors import InvalidInput

    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "socks5", "socks5h") or not parts.hostname or len(url) > 300:
        raise InvalidInput("Enter a proxy URL like http://user:pass@host:port (http, https or socks5).")
    if db.session.scalar(select(ProxyEndpoint).where(ProxyEndpoint.url == url)):
        raise InvalidInput("That proxy is already in the pool.")
    row = ProxyEndpoint(url=url)
    db.session.add(row)
    db.session.commit()
    return row


def remove_proxy(proxy_id: int) -> None:
    from app.errors import NotFound

    row = db.session.get(ProxyEndpoint, proxy_id)
    if row is None:
        raise NotFound("No such proxy.")
    db.session.delete(row)
    db.session.commit()


# --------------------------------------------------------------------------- fetch
def _fetch(provider: Provider, symbols: list[str], what: Callable, empty) -> tuple:
    s = settings()
    stats = FetchStats()
    broker = DbProxyBroker() if provider.remote else None

    def call(batch, proxy):
        if hasattr(provider, "proxy"):
            provider.proxy = proxy
        return what(batch)

    batch_size = s.batch_size if provider.remote else max(len(symbols), 1)
    out = fetch_batched(symbols, call, empty=empty, batch_size=batch_size, min_chunk=s.min_chunk,
                        limiter=rate_limiter(provider), broker=broker, stats=stats)
    return out, stats


# --------------------------------------------------------------------------- chunk results
@dataclass
class ChunkResult:
    asked: int = 0
    ok: int = 0
    failed: int = 0
    rows: int = 0
    notes: list[str] = field(default_factory=list)

    def add_batch(self, batch: BarBatch | QuoteBatch, ok_symbols: int) -> None:
        self.ok = ok_symbols
        self.failed = self.asked - ok_symbols
        self.notes.extend(summarise(batch))


def summarise(batch) -> list[str]:
    notes = []
    if batch.errors:
        by_msg: dict[str, list[str]] = {}
        for sym, msg in batch.errors.items():
            by_msg.setdefault(msg, []).append(sym)
        for msg, syms in sorted(by_msg.items(), key=lambda kv: -len(kv[1])):
            shown = ", ".join(sorted(syms)[:8]) + (" ..." if len(syms) > 8 else "")
            notes.append(f"{len(syms)} failed ({msg}): {shown}")
    if batch.dropped:
        notes.append("dropped rows: " + ", ".join(f"{k} {v}" for k, v in sorted(batch.dropped.items())))
    for sym, msg in sorted(batch.flags.items()):
        notes.append(f"{sym}: {msg}")
    return notes


# --------------------------------------------------------------------------- 1 minute
INDICATOR_STATE_COLS = {
    "base_close": "base_close", "sum19": "sum19", "sum49": "sum49", "sum199": "sum199",
    "sumsq19": "sumsq19", "rsi_avg_gain": "rsi_avg_gain", "rsi_avg_loss": "rsi_avg_loss",
    "high251": "high251", "low251": "low251", "base_ema12": "ema12", "base_ema26": "ema26",
    "base_macd_signal": "macd_signal", "base_atr14": "atr14", "avg_volume": "avg_volume",
}


def _indicator_state(ids: list[int]) -> pd.DataFrame:
    t = StockIndicator.__table__
    cols = [t.c.stock_id, t.c.daily_as_of] + [t.c[c] for c in INDICATOR_STATE_COLS]
    rows = db.session.execute(select(*cols).where(t.c.stock_id.in_(ids))).all()
    df = pd.DataFrame(rows, columns=["stock_id", "daily_as_of"] + list(INDICATOR_STATE_COLS))
    return df.rename(columns=INDICATOR_STATE_COLS).set_index("stock_id")


def _volume_fraction(q: pd.DataFrame) -> np.ndarray:
    """Expected share of the day's volume traded by the quote's time (one calendar
    lookup per distinct session, not per stock)."""
    bounds = {d: mcal.session_open_close(d) for d in pd.unique(q["session"]) if mcal.is_session(d)}
    opens = pd.to_datetime(q["session"].map(lambda d: bounds[d][0] if d in bounds else pd.NaT), utc=True)
    closes = pd.to_datetime(q["session"].map(lambda d: bounds[d][1] if d in bounds else pd.NaT), utc=True)
    total = ((closes - opens).dt.total_seconds() / 60).to_numpy(dtype=float)
    if "minute" in q:  # the simulated provider says which minute its quote shows
        minutes = q["minute"].to_numpy(dtype=float) + 1
    else:
        minutes = ((pd.to_datetime(q["ts"], utc=True) - opens).dt.total_seconds() / 60).to_numpy(dtype=float)
    frac = compute.volume_fraction(np.nan_to_num(minutes, nan=0.0), np.nan_to_num(total, nan=390.0))
    # outside the session (or no session) a full day's volume is the reference
    return np.where(np.isfinite(total) & (minutes < total), frac, 1.0)


def quotes_chunk(ids: list[int], now: dt.datetime | None = None,
                 provider: Provider | None = None) -> ChunkResult:
    """Quotes for ``ids``: snapshot upsert and the live indicator refresh."""
    now = now or utcnow()
    provider = provider or current_provider()
    stocks = _ids_frame(ids, with_shares=True)
    res = ChunkResult(asked=len(stocks))
    if stocks.empty:
        return res
    batch, _ = _fetch(provider, stocks["symbol"].tolist(), lambda b: provider.quotes(b, now=now), QuoteBatch)
    from app.market.validation import clean_quotes
    q, dropped = clean_quotes(batch.frame)
    for k, v in dropped.items():
        batch.dropped[k] = batch.dropped.get(k, 0) + v
    q = q.merge(stocks, on="symbol", how="inner")
    res.add_batch(batch, len(q))
    if q.empty:
        return res
    if "session" not in q:
        q["session"] = [mcal.current_session(ts) or mcal.last_completed_session(ts) for ts in q["ts"]]
    q["volume_fraction"] = _volume_fraction(q)
    q = q.set_index("stock_id")
    state = _indicator_state(q.index.tolist())
    # live values only for stocks whose daily state is older than the quote's session
    base_day = pd.to_datetime(state["daily_as_of"], utc=True).dt.date
    q_session = q["session"].reindex(state.index)
    fresh = state.index[(base_day.notna()) & (base_day < q_session)]
    ts_now = utcnow()
    if len(fresh):
        live = compute.live_indicators(state.loc[fresh], q.loc[fresh])
        live.index.name = "stock_id"
        live = live.reset_index()
        live["live_as_of"] = q.loc[fresh, "ts"].to_numpy()
        live["updated_at"] = ts_now
        live["live_as_of"] = pd.to_datetime(live["live_as_of"], utc=True)
        res.rows += bulk_upsert(StockIndicator.__table__, live, ["stock_id"])
        live = live.set_index("stock_id")
    else:
        live = pd.DataFrame(index=pd.Index([], name="stock_id"))
    avg = state["avg_volume"].reindex(q.index)
    w52h = np.fmax(state["high251"].reindex(q.index).to_numpy(dtype=float), q["high"].to_numpy(dtype=float))
    w52l = np.fmin(state["low251"].reindex(q.index).to_numpy(dtype=float), q["low"].to_numpy(dtype=float))
    price = q["price"].to_numpy(dtype=float)
    prev = q["prev_close"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = q["volume"].to_numpy(dtype=float) / (avg.to_numpy(dtype=float) * q["volume_fraction"].to_numpy())
        gap = (q["open"].to_numpy(dtype=float) / prev - 1) * 100
    snap = pd.DataFrame({
        "stock_id": q.index.to_numpy(),
        "price": price, "prev_close": prev, "change": price - prev,
        "change_pct": (price / prev - 1) * 100 if len(price) else [],
        "open": q["open"].to_numpy(dtype=float), "high": q["high"].to_numpy(dtype=float),
        "low": q["low"].to_numpy(dtype=float), "volume": q["volume"].to_numpy(dtype=np.int64),
        "avg_volume": avg.to_numpy(dtype=float), "rel_volume": rel, "gap_pct": gap,
        "week52_high": w52h, "week52_low": w52l,
        "market_cap": fundamentals.market_cap(price, q["shares_outstanding"].to_numpy(dtype=float)),
        "session": q["session"].to_numpy(), "as_of": pd.to_datetime(q["ts"], utc=True).to_numpy(),
        "updated_at": ts_now, "source": provider.name,
    })
    snap["as_of"] = pd.to_datetime(snap["as_of"], utc=True)
    res.rows += upsert_snapshots(snap)
    return res


def upsert_snapshots(snap: pd.DataFrame) -> int:
    """Upsert snapshots, moving the current values to ``prev_*`` when the quote is newer
    (a repeated upsert of the same quote keeps the previous values: idempotent)."""
    def overrides(t, ex):
        newer = ex.as_of > t.c.as_of
        return {
            "prev_price": case((newer, t.c.price), else_=t.c.prev_price),
            "prev_change_pct": case((newer, t.c.change_pct), else_=t.c.prev_change_pct),
            "prev_volume": case((newer, t.c.volume), else_=t.c.prev_volume),
            "prev_as_of": case((newer, t.c.as_of), else_=t.c.prev_as_of),
        }
    return bulk_upsert(Snapshot.__table__, snap, ["stock_id"], set_overrides=overrides,
                       where=lambda t, ex: ex.as_of >= t.c.as_of)


# --------------------------------------------------------------------------- bars
def bars_frame(batch_frame: pd.DataFrame, stocks: pd.DataFrame, interval: str) -> pd.DataFrame:
    df = batch_frame.merge(stocks, on="symbol", how="inner")
    return pd.DataFrame({
        "stock_id": df["stock_id"].to_numpy(), "interval": interval,
        "ts": pd.to_datetime(df["ts"], utc=True),
        "open": df["open"].to_numpy(dtype=float), "high": df["high"].to_numpy(dtype=float),
        "low": df["low"].to_numpy(dtype=float), "close": df["close"].to_numpy(dtype=float),
        "volume": df["volume"].to_numpy(dtype=np.int64),
    })


def upsert_bars(df: pd.DataFrame) -> int:
    return bulk_upsert(Bar.__table__, df, ["stock_id", "interval", "ts"])


def read_bars(ids: list[int], interval: str, since: dt.datetime,
              until: dt.datetime | None = None) -> pd.DataFrame:
    """Bars as a long frame with the stock id in ``symbol`` (what :mod:`compute` groups
    by), sorted by stock and time."""
    t = Bar.__table__
    q = select(t.c.stock_id, t.c.ts, t.c.open, t.c.high, t.c.low, t.c.close, t.c.volume).where(
        t.c.stock_id.in_(ids), t.c.interval == interval, t.c.ts >= since)
    if until is not None:
        q = q.where(t.c.ts <= until)
    rows = db.session.execute(q.order_by(t.c.stock_id, t.c.ts)).all()
    df = pd.DataFrame(rows, columns=["symbol", "ts", "open", "high", "low", "close", "volume"])
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    return df


def _last_bar_ts(ids: list[int], interval: str) -> dt.datetime | None:
    """The oldest of the stocks' latest bars (where an incremental fetch must start)."""
    t = Bar.__table__
    sub = (select(func.max(t.c.ts).label("m")).where(t.c.stock_id.in_(ids), t.c.interval == interval)
           .group_by(t.c.stock_id).subquery())
    n_with = db.session.scalar(select(func.count()).select_from(sub))
    if not n_with or n_with < len(ids):
        return None
    v = db.session.scalar(select(func.min(sub.c.m)))
    return pd.Timestamp(v).tz_convert("UTC").to_pydatetime() if v is not None else None


def daily_chunk(ids: list[int], session: dt.date, provider: Provider | None = None,
                lookback_days: int = INITIAL_DAILY_DAYS) -> ChunkResult:
    """Daily bars up to ``session`` and every indicator, then snapshots from the bars."""
    provider = provider or current_provider()
    stocks = _ids_frame(ids)
    res = ChunkResult(asked=len(stocks))
    if stocks.empty:
        return res
    end = dt.datetime.combine(session, dt.time(), dt.UTC)
    last = _last_bar_ts(stocks["stock_id"].tolist(), "1d")
    start = (last - dt.timedelta(days=7)) if last else end - dt.timedelta(days=lookback_days)
    batch, _ = _fetch(provider, stocks["symbol"].tolist(),
                      lambda b: provider.bars(b, "1d", start, end), lambda: BarBatch("1d"))
    bars = bars_frame(batch.frame, stocks, "1d")
    res.add_batch(batch, bars["stock_id"].nunique())
    res.rows += upsert_bars(bars)
    res.rows += refresh_daily_indicators(stocks["stock_id"].tolist(), session, source=provider.name)
    res.rows += fundamentals.refresh(stocks, provider)  # the daily fundamentals step
    return res


def indicator_rows(ind: pd.DataFrame, now: dt.datetime) -> pd.DataFrame:
    """``StockIndicator`` rows from :func:`compute.daily_indicators` output (keyed by
    stock id in ``symbol``): live values = the daily ones, plus the live-update state."""
    out = ind.rename(columns={"symbol": "stock_id", "as_of": "daily_as_of"})
    out["stock_id"] = out["stock_id"].astype(np.int64)
    for col in ("ema12", "ema26", "macd_signal", "atr14"):
        out[f"base_{col}"] = out[col]
    out["daily_as_of"] = pd.to_datetime(out["daily_as_of"], utc=True)
    out["live_as_of"] = out["daily_as_of"]
    out["updated_at"] = now
    return out


def refresh_daily_indicators(ids: list[int], session: dt.date, source: str) -> int:
    """All indicators from the stored daily bars, and snapshots for stocks whose snapshot
    is older than the session's close."""
    end = dt.datetime.combine(session, dt.time(), dt.UTC)
    hist = read_bars(ids, "1d", end - dt.timedelta(days=DAILY_LOOKBACK_DAYS), end)
    if hist.empty:
        return 0
    ind = compute.daily_indicators(hist)
    now = utcnow()
    n = bulk_upsert(StockIndicator.__table__, indicator_rows(ind, now), ["stock_id"])
    # snapshots from the last two bars of each stock
    last2 = hist.groupby("symbol").tail(2)
    prev = last2.groupby("symbol")["close"].first()
    cnt = last2.groupby("symbol").size()
    last = last2.groupby("symbol").tail(1).set_index("symbol")
    prev = prev.where(cnt > 1)
    sess = last["ts"].dt.date
    closes = {d: mcal.session_open_close(d)[1] for d in set(sess) if mcal.is_session(d)}
    as_of = pd.to_datetime([closes.get(d, pd.Timestamp(d, tz="UTC")) for d in sess], utc=True)
    i = ind.set_index("symbol").reindex(last.index)
    price = last["close"].to_numpy(dtype=float)
    pc = prev.reindex(last.index).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        snap = pd.DataFrame({
            "stock_id": last.index.to_numpy(dtype=np.int64), "price": price, "prev_close": pc,
            "change": price - pc, "change_pct": (price / pc - 1) * 100,
            "open": last["open"].to_numpy(dtype=float), "high": last["high"].to_numpy(dtype=float),
            "low": last["low"].to_numpy(dtype=float), "volume": last["volume"].to_numpy(dtype=np.int64),
            "avg_volume": i["avg_volume"].to_numpy(dtype=float),
            "rel_volume": i["rel_volume"].to_numpy(dtype=float), "gap_pct": i["gap_pct"].to_numpy(dtype=float),
            "week52_high": i["week52_high"].to_numpy(dtype=float), "week52_low": i["week52_low"].to_numpy(dtype=float),
            "session": sess.to_numpy(), "as_of": as_of, "updated_at": now, "source": source,
        })
    return n + upsert_snapshots(snap)


def intraday_chunk(ids: list[int], now: dt.datetime | None = None,
                   provider: Provider | None = None) -> ChunkResult:
    """10-minute bars of the current (or last) session and the intraday indicators."""
    now = now or utcnow()
    provider = provider or current_provider()
    stocks = _ids_frame(ids)
    res = ChunkResult(asked=len(stocks))
    if stocks.empty:
        return res
    if "10m" not in provider.intervals:
        res.notes.append(f"{provider.name} provider has no intraday bars")
        res.failed = res.asked
        return res
    last = _last_bar_ts(stocks["stock_id"].tolist(), "10m")
    start = max(last - dt.timedelta(minutes=20), now - dt.timedelta(days=5)) if last else now - dt.timedelta(days=4)
    batch, _ = _fetch(provider, stocks["symbol"].tolist(),
                      lambda b: provider.bars(b, "10m", start, now), lambda: BarBatch("10m"))
    bars = bars_frame(batch.frame, stocks, "10m")
    res.add_batch(batch, bars["stock_id"].nunique())
    res.rows += upsert_bars(bars)
    if settings().store_1m_bars and "1m" in provider.intervals:
        b1, _ = _fetch(provider, stocks["symbol"].tolist(),
                       lambda b: provider.bars(b, "1m", max(start, now - dt.timedelta(days=1)), now),
                       lambda: BarBatch("1m"))
        res.rows += upsert_bars(bars_frame(b1.frame, stocks, "1m"))
    pruned = prune_intraday(stocks["stock_id"].tolist(), now)  # retention, through the primary key
    if pruned:
        log.info("pruned %s intraday bars", pruned)
    hist = read_bars(stocks["stock_id"].tolist(), "10m", now - dt.timedelta(days=7))
    if hist.empty:
        return res
    latest = hist["ts"].max()
    sess = mcal.current_session(latest) or mcal.last_completed_session(latest)
    ind = compute.intraday_indicators(hist, mcal.session_open_close(sess)[0])
    ind = ind.rename(columns={"symbol": "stock_id"})
    ind["stock_id"] = ind["stock_id"].astype(np.int64)
    ind["intraday_as_of"] = pd.to_datetime(hist.groupby("symbol")["ts"].max().reindex(ind["stock_id"]).to_numpy(), utc=True)
    ind["updated_at"] = utcnow()
    res.rows += bulk_upsert(StockIndicator.__table__, ind, ["stock_id"])
    return res


def prune_intraday(ids: list[int] | None = None, now: dt.datetime | None = None) -> int:
    """Delete intraday bars older than the retention windows (of the stocks ``ids``, or
    all): each 10-minute chunk job prunes its own stocks through the primary key."""
    now = now or utcnow()
    s = settings()
    t = Bar.__table__
    n = 0
    for interval, days in (("10m", s.retention_10m_days), ("1m", s.retention_1m_days)):
        cond = [t.c.interval == interval, t.c.ts < now - dt.timedelta(days=days)]
        if ids is not None:
            cond.insert(0, t.c.stock_id.in_(ids))
        r = db.session.execute(delete(t).where(*cond))
        n += r.rowcount or 0
    return n


# --------------------------------------------------------------------------- cycles
def _mark_abandoned(kind: str, now: dt.datetime) -> None:
    """Runs whose worker died (lock expired long ago) are closed as failed."""
    cutoff = now - dt.timedelta(seconds=LOCK_TTL[kind] * 2)
    db.session.execute(
        update(ScanRun).where(ScanRun.kind == kind, ScanRun.status == RUN_RUNNING,
                              ScanRun.started_at < cutoff)
        .values(status=RUN_FAILED, finished_at=now,
                error_summary=func.coalesce(ScanRun.error_summary, "") + "abandoned: the cycle did not finish (worker lost)\n"))
    db.session.commit()


def start_cycle(kind: str, *, force: bool = False, symbols: list[str] | None = None,
                now: dt.datetime | None = None, inline: bool = False) -> int | None:
    """Start one cycle of a rhythm: returns the ScanRun id, or None when nothing is due
    (market closed, daily session already done, or the previous cycle still running)."""
    if kind not in SCAN_KINDS:
        raise ValueError(f"unknown scan {kind!r}; use one of {', '.join(SCAN_KINDS)}")
    now = now or utcnow()
    s = settings()
    clock = market_clock()
    session = None
    if kind in ("1m", "10m"):
        if not force and not clock.is_open(now):
            log.info("scan %s skipped: market closed", kind)
            return None
    else:
        session = clock.daily_session_due(now)
        if session is None:
            if not force:
                log.info("scan 1d skipped: no session due")
                return None
            session = mcal.last_completed_session(now)
        elif not force and db.session.scalar(select(ScanRun.id).where(
                ScanRun.kind == "1d", ScanRun.session == session,
                ScanRun.status.in_([RUN_SUCCEEDED, RUN_PARTIAL]))):
            return None
    _mark_abandoned(kind, utcnow())
    token = uuid.uuid4().hex
    if not acquire_lock(kind, token):
        log.warning("scan %s not started: the previous cycle still holds the lock", kind)
        return None
    try:
        stocks = stock_ids(symbols)
        ids = stocks["stock_id"].tolist()
        size = max(1, s.chunk_size)
        chunks = [ids[i:i + size] for i in range(0, len(ids), size)]
        run = ScanRun(kind=kind, provider=s.provider, status=RUN_RUNNING, session=session,
                      symbols_asked=len(ids), chunks_total=len(chunks), forced=force, started_at=utcnow())
        if symbols is not None:
            missing = sorted({x.upper() for x in symbols} - set(stocks["symbol"]))
            if missing:
                run.error_summary = f"unknown symbols: {', '.join(missing[:20])}\n"
        db.session.add(run)
        db.session.commit()
        get_redis().set(f"market:scan-run:{run.id}:token", token, ex=LOCK_TTL[kind] * 2)
    except Exception:
        release_lock(kind, token)
        raise
    if not chunks:
        finalize(run.id)
        return run.id
    from app.market import tasks

    session_iso = session.isoformat() if session else None
    for chunk in chunks:
        if inline:
            run_chunk(run.id, kind, chunk, session, now)
        else:
            from app.jobs import enqueue
            enqueue("scans", tasks.run_chunk, run.id, kind, chunk, session_iso, now.isoformat(),
                    job_timeout=max(60, LOCK_TTL[kind]), result_ttl=600, failure_ttl=86400)
    return run.id


def run_chunk(run_id: int, kind: str, ids: list[int], session: dt.date | None,
              now: dt.datetime | None = None) -> ChunkResult:
    """Process one chunk and add its counts to the run; finalise the run when last."""
    try:
        if kind == "1m":
            res = quotes_chunk(ids, now=now)
        elif kind == "10m":
            res = intraday_chunk(ids, now=now)
        else:
            res = daily_chunk(ids, session)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.exception("scan %s chunk failed (run %s)", kind, run_id)
        _record_chunk(run_id, ChunkResult(asked=len(ids), failed=len(ids),
                                          notes=[f"chunk failed: {type(exc).__name__}: {exc}"]))
        raise
    _record_chunk(run_id, res)
    return res


def _record_chunk(run_id: int, res: ChunkResult) -> None:
    note = "".join(n[:500] + "\n" for n in res.notes)
    stmt = (update(ScanRun).where(ScanRun.id == run_id).values(
        symbols_ok=ScanRun.symbols_ok + res.ok, symbols_failed=ScanRun.symbols_failed + res.failed,
        rows_written=ScanRun.rows_written + res.rows, chunks_done=ScanRun.chunks_done + 1,
        error_summary=(func.coalesce(ScanRun.error_summary, "") + note) if note else ScanRun.error_summary,
    ).returning(ScanRun.chunks_done, ScanRun.chunks_total))
    done, total = db.session.execute(stmt).one()
    db.session.commit()
    if done >= total:
        finalize(run_id)


def finalize(run_id: int) -> ScanRun:
    """Close the run (status, duration), release the lock, bump the snapshot version and
    call the hooks of the rhythm."""
    run = db.session.get(ScanRun, run_id)
    now = utcnow()
    hook_errors: list[str] = []
    extra = ""
    if run.symbols_asked and run.symbols_ok == 0:
        run.status = RUN_FAILED
    elif run.symbols_failed or (run.error_summary or "").startswith("unknown symbols"):
        run.status = RUN_PARTIAL
    elif not run.symbols_asked:
        run.status = RUN_FAILED
        extra += "no active stocks to scan\n"
    else:
        run.status = RUN_SUCCEEDED
    run.finished_at = now
    version = None
    if run.kind == "1m" and run.symbols_ok:
        version = bump_snapshot_version()
    if run.symbols_ok:
        hook_errors = hooks.emit(hooks.BY_KIND[run.kind], run.kind, run_id=run.id, version=version,
                                 as_of=now, session=run.session)
    if hook_errors or extra:
        run.error_summary = ((run.error_summary or "") + extra + "".join(e + "\n" for e in hook_errors))
    if run.error_summary and len(run.error_summary) > 8000:
        run.error_summary = run.error_summary[:7990] + "\n..."
    db.session.commit()
    r = get_redis()
    token = r.get(f"market:scan-run:{run.id}:token")
    if token:
        release_lock(run.kind, token.decode())
        r.delete(f"market:scan-run:{run.id}:token")
    return run


def run_now(kind: str, symbols: list[str] | None = None, force: bool = True) -> ScanRun | None:
    """Run a cycle in this process (CLI, demo)."""
    run_id = start_cycle(kind, force=force, symbols=symbols, inline=True)
    return db.session.get(ScanRun, run_id) if run_id else None


# --------------------------------------------------------------------------- reads
def recent_runs(kind: str, limit: int = 10) -> list[ScanRun]:
    return list(db.session.scalars(select(ScanRun).where(ScanRun.kind == kind)
                                   .order_by(ScanRun.started_at.desc(), ScanRun.id.desc()).limit(limit)))


def list_proxies() -> list[ProxyEndpoint]:
    return list(db.session.scalars(select(ProxyEndpoint).order_by(ProxyEndpoint.id)))


def rate_limit_state() -> dict:
    s = settings()
    provider = current_provider()
    info = {"provider": s.provider, "rate": s.rate_limit, "remote": provider.remote,
            "batch_size": s.batch_size, "min_chunk": s.min_chunk, "chunk_size": s.chunk_size}
    if provider.remote:
        try:
            info.update(RateLimiter(get_redis(), provider.name, rate=s.rate_limit).state())
        except Exception as exc:  # Redis down: the page still renders
            info["error"] = str(exc)
    return info


# --------------------------------------------------------------------------- demo
def load_demo_market(now: dt.datetime | None = None) -> dict:
    """Seed the universe and a year of simulated daily bars, indicators, snapshots and
    the last session's 10-minute bars, when the market tables are empty. Idempotent."""
    now = now or utcnow()
    if db.session.scalar(select(func.count()).select_from(Bar)):
        return _refresh_demo_market(now)
    t0 = time.perf_counter()
    n_stocks = seed_universe()
    s = settings()
    sim = get_provider("simulated", seed=s.seed, always_open=mcal.clock_for(s.clock, True).always_open)
    ids = stock_ids()["stock_id"].tolist()
    session = mcal.last_completed_session(now)
    rows = 0
    run = ScanRun(kind="1d", provider="simulated", status=RUN_RUNNING, session=session,
                  symbols_asked=len(ids), chunks_total=1, started_at=utcnow())
    db.session.add(run)
    db.session.commit()
    for i in range(0, len(ids), 500):
        res = daily_chunk(ids[i:i + 500], session, provider=sim, lookback_days=380)
        run.symbols_ok += res.ok
        run.symbols_failed += res.failed
        rows += res.rows
        db.session.commit()
    for i in range(0, len(ids), 500):
        rows += intraday_chunk(ids[i:i + 500], now=now, provider=sim).rows
        db.session.commit()
    if mcal.clock_for(s.clock, True).is_open(now):
        for i in range(0, len(ids), 1000):
            rows += quotes_chunk(ids[i:i + 1000], now=now, provider=sim).rows
            db.session.commit()
    run.rows_written, run.chunks_done = rows, 1
    run.status, run.finished_at = RUN_SUCCEEDED, utcnow()
    run.error_summary = f"demo load: {n_stocks} stocks in {time.perf_counter() - t0:.1f}s\n"
    db.session.commit()
    bump_snapshot_version()
    return {"stocks": n_stocks, "bars": rows}


def _refresh_demo_market(now: dt.datetime) -> dict:
    """A demo database from an older version: re-seed the universe (clean sectors, the
    ETFs) and give the stocks that have no daily bars yet (the new ETFs) their year of
    simulated history, so the market strip and the SPY benchmark work at once."""
    if not provider_is_simulated():
        return {"stocks": 0, "bars": 0}
    seed_universe()
    t = Bar.__table__
    with_bars = select(t.c.stock_id).where(t.c.interval == "1d").distinct()
    missing = list(db.session.scalars(select(Stock.id).where(Stock.active.is_(True), Stock.id.not_in(with_bars))))
    if not missing:
        return {"stocks": 0, "bars": 0}
    s = settings()
    sim = get_provider("simulated", seed=s.seed, always_open=mcal.clock_for(s.clock, True).always_open)
    res = daily_chunk(missing, mcal.last_completed_session(now), provider=sim, lookback_days=380)
    universe = stock_ids()
    fundamentals.refresh(universe, sim)  # shares for the stocks seeded before market caps existed
    db.session.commit()
    bump_snapshot_version()
    return {"stocks": len(missing), "bars": res.rows, "universe": len(universe)}
