"""Daily-bar history for the rule language, shared by the screener and the alerts.

A formula evaluated in cross-section mode over the universe (``close > sma(close, 50)``,
``crosses_above(sma(close, 5), sma(close, 20))``, ``rsi(14) < 30``) needs the last daily
bars of every stock, with the live quote as the last bar. This module is the one place that
builds that data:

* :func:`width_for` -- how many bars a set of rules needs: its windows and, for recursive
  indicators (EMA, RSI, ATR, MACD), TA-Lib's lookback plus the unstable period after which
  the value no longer depends on where the history starts
  (:meth:`~app.rules.compiler.CompiledRule.history_bars`), so the screener and the alerts
  get the same value as a backtest over the whole history (to 1e-9, windows up to 1,000).
* :func:`bars_for` -- OHLCV matrices of the last ``width`` daily bars of every stock (never
  wider than the longest stored history), loaded at a few fixed widths (``BUCKETS``) and cached, keyed by the latest finished daily scan
  (``ScanRun`` kind ``1d``): a new daily cycle invalidates them by itself.
* :func:`bar_matrices` -- the candidates' rows of those matrices with a quote as the last bar
  (a quote of a later session than the last daily bar opens a new bar).
* :func:`build_series` -- the :class:`~app.rules.SeriesData` for a set of compiled rules:
  stored per-stock values (1-D) for fields only read at the last bar, bar matrices where the
  rules need history. Fields used over several bars that the rule language can derive from
  the bars (``sma50``, ``rsi14``, ``macd``...) are derived rather than taken from the stored
  1-D value, so ``crosses_above(macd, macd_signal)`` sees a real series.

Caching. Each process keeps the matrices in memory. RQ work horses are forked per job and
lose that memory, so the matrices are also written to ``BAR_CACHE_DIR`` (an ``.npz`` file per
daily scan and width; unset in tests): a horse loads the file (fast) instead of the database.
Workers warm it after each daily cycle (:func:`warm_bar_cache`, connected to
``after_daily_cycle`` in ``app.alerts.hooks``) so the first alert cycle of the day is not
slow. Web processes load lazily: the first formula screen needing history after a daily
cycle (or a restart) loads the matrices (from the file when a worker already wrote it).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models.market import Bar, ScanRun, Stock
from app.rules import CROSS_SECTION, SeriesData
from app.rules.fields import FIELDS

log = logging.getLogger(__name__)

WARM_BARS = 260  # what the worker loads after the daily cycle: enough for 252-bar windows
MAX_BARS = 1 << 16  # a safety bound only: the matrices never get wider than the stored history
# widths the daily-bar cache is loaded at; recursive indicators need several times their
# window (functions.unstable_period), hence the wide buckets
BUCKETS = (32, 64, 128, WARM_BARS, 512, 1024, 2048, 4096, 8192, 16384, 32768, MAX_BARS)
BAR_FIELDS = ("open", "high", "low", "close", "volume")
CROSS_FUNCTIONS = ("crosses_above", "crosses_below")

_cache_lock = threading.Lock()
_cache: dict = {}


def clear_bar_cache() -> None:
    """Forget the in-memory matrices of this process (the files stay: they are keyed by scan)."""
    with _cache_lock:
        _cache.clear()


def bars_key() -> tuple:
    """What the cached matrices are keyed by: (database, latest finished daily scan id, its end)."""
    run = db.session.execute(
        select(ScanRun.id, ScanRun.finished_at).where(ScanRun.kind == "1d", ScanRun.finished_at.is_not(None))
        .order_by(ScanRun.id.desc()).limit(1)).first()
    run_id, finished = (run[0], run[1]) if run else (None, None)
    return (str(db.engine.url), run_id, finished.isoformat() if finished else None)


def _load_bars(width: int, names: Iterable[str] = BAR_FIELDS) -> dict:
    """The ``names`` fields (OHLCV) of the last ``width`` daily bars of every stock: (ids,
    last bar date, matrices). Only the fields asked for: a long warm-up of ``close`` alone
    does not pay for four more matrices."""
    names = [n for n in BAR_FIELDS if n in set(names)]
    K = Stock  # noqa: N806
    latest = db.session.scalar(select(func.max(Bar.ts)).where(Bar.interval == "1d",
                                                             Bar.stock_id == select(func.min(K.id)).scalar_subquery()))
    latest = latest or db.session.scalar(select(func.max(Bar.ts)).where(Bar.interval == "1d"))
    if latest is None:
        return {"ids": np.array([], dtype=np.int64), "width": width}
    since = latest - dt.timedelta(days=int(width * 1.5) + 14)
    t = Bar.__table__
    rows = db.session.execute(select(t.c.stock_id, t.c.ts, *(t.c[n] for n in names))
                              .where(t.c.interval == "1d", t.c.ts >= since)
                              .order_by(t.c.stock_id, t.c.ts)).all()
    df = pd.DataFrame(rows, columns=["stock_id", "ts", *names])
    ids = np.unique(df["stock_id"].to_numpy(dtype=np.int64))
    k = df.groupby("stock_id").cumcount(ascending=False).to_numpy()
    keep = k < width
    df, k = df[keep], k[keep]
    r = np.searchsorted(ids, df["stock_id"].to_numpy(dtype=np.int64))
    # "width" is what the matrices cover (every stored bar up to that many); their columns
    # stop at the longest stored history, so a wide warm-up costs no more than the data
    cols = int(k.max()) + 1 if len(k) else 1
    c = cols - 1 - k
    # every stored bar is in: no wider request can add one until the next daily scan
    older = db.session.scalar(select(t.c.stock_id).where(t.c.interval == "1d", t.c.ts < since).limit(1))
    out = {"ids": ids, "width": width, "complete": bool(cols < width and older is None)}
    for name in names:
        m = np.full((len(ids), cols), np.nan)
        m[r, c] = df[name].to_numpy(dtype=np.float64)
        out[name] = m
    last = df.groupby("stock_id")["ts"].max()
    out["last_date"] = np.array([pd.Timestamp(v).date() for v in last.reindex(ids)], dtype=object)
    return out


# ------------------------------------------------------------------ file cache (across forks)
def _cache_file(key: tuple, width: int) -> str | None:
    folder = current_app.config.get("BAR_CACHE_DIR")
    if not folder or key[1] is None:
        return None
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
    return os.path.join(str(folder), f"daily-bars-{digest}-{width}.npz")


def _read_file(path: str) -> dict | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {"ids": z["ids"], "width": int(z["width"]),
                   "complete": bool(z["complete"]) if "complete" in z else False}
            for name in BAR_FIELDS:
                if name in z:
                    out[name] = z[name]
            if "last_ord" in z:
                out["last_date"] = np.array([dt.date.fromordinal(int(o)) for o in z["last_ord"]], dtype=object)
        return out
    except (OSError, ValueError, KeyError):
        return None


def _write_file(path: str, data: dict) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        arrays = {"ids": data["ids"], "width": np.int64(data["width"]),
                  "complete": np.bool_(data.get("complete", False))}
        for name in BAR_FIELDS:
            if name in data:
                arrays[name] = data[name]
        if "last_date" in data:
            arrays["last_ord"] = np.array([d.toordinal() for d in data["last_date"]], dtype=np.int64)
        tmp = f"{path}.{os.getpid()}.tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
        folder = os.path.dirname(path)
        for name in os.listdir(folder):  # files of scans more than a few days old
            full = os.path.join(folder, name)
            if name.startswith("daily-bars-") and os.path.getmtime(full) < os.path.getmtime(path) - 3 * 86400:
                os.remove(full)
    except OSError:
        log.warning("could not write the daily-bar cache file %s", path, exc_info=True)


def _has(data: dict, names: Iterable[str]) -> bool:
    return len(data["ids"]) == 0 or all(n in data for n in names)


def _covers(data: dict, bucket: int) -> bool:
    """At least ``bucket`` wide, or already holding every stored bar."""
    return data["width"] >= bucket or bool(data.get("complete"))


def bars_for(width: int, names: Iterable[str] = BAR_FIELDS) -> dict:
    """The cached daily-bar matrices of ``names``, at least ``width`` wide (memory, then file,
    then database). Within one daily scan the cache only grows: a wider or other-field
    request reloads the union of what is cached and what is asked."""
    names = set(names)
    bucket = next((b for b in BUCKETS if b >= width), MAX_BARS)
    key = bars_key()
    with _cache_lock:
        got = _cache.get("bars")
        if got is not None and got["key"] == key:
            if _covers(got["data"], bucket) and _has(got["data"], names):
                return got["data"]
            bucket = max(bucket, got["data"]["width"])
            names |= {n for n in BAR_FIELDS if n in got["data"]}
    data = None
    for wider in BUCKETS:  # a file at least as wide, or a complete one, will do
        got_path = _cache_file(key, wider)
        if got_path and os.path.exists(got_path):
            data = _read_file(got_path)
            if data is not None and _has(data, names) and _covers(data, bucket):
                break
            data = None
    path = _cache_file(key, bucket)
    if data is None:
        data = _load_bars(bucket, names)
        if path:
            _write_file(path, data)
    with _cache_lock:
        _cache["bars"] = {"key": key, "data": data}
    return data


def warm_bar_cache(width: int = WARM_BARS) -> dict:
    """Load the matrices now (after a daily cycle) so the next formula evaluation is fast."""
    clear_bar_cache()
    return bars_for(width)


# ------------------------------------------------------------------ rules -> data
def _derived_warmup() -> dict[str, int]:
    """Bars a field derived from the bars (not the stored value) needs before its value
    equals the full-history one: its window, or a recursive indicator's warm-up."""
    from app.rules.functions import FUNCTIONS as F

    def warm(fn, **c):
        return F[fn].warmup(c) + 1

    macd = warm("macd", fast=12, slow=26, signal=9)
    return {"price": 1, "sma20": 20, "sma50": 50, "sma200": 200, "bb_upper": 20, "bb_lower": 20,
            "week52_high": 252, "week52_low": 252, "change_pct": 2, "gap_pct": 2,
            "avg_volume": 63, "rel_volume": 64, "rsi14": warm("rsi", n=14), "atr14": warm("atr", n=14),
            "ema12": warm("ema", n=12), "ema26": warm("ema", n=26),
            "macd": macd, "macd_signal": macd, "macd_hist": macd}


DERIVED_WARMUP = _derived_warmup()


def width_for(rules: Iterable) -> int:
    """Bars of history rules get: what they need for their last value to equal the value
    over the whole history (:meth:`~app.rules.compiler.CompiledRule.history_needs`: windows,
    and TA-Lib's lookback plus the unstable period of recursive indicators), plus the
    warm-up of a field derived from the bars over several bars
    (``crosses_above(macd, macd_signal)``)."""
    from app.rules.checker import FieldRef

    width = 1
    for rule in rules:
        cross = rule.needs(CROSS_SECTION)
        for i, n in enumerate(rule.history_needs()):
            step = rule.steps[i]
            w = n
            if type(step) is FieldRef and cross[i] > 1 and step.name not in BAR_FIELDS and derivable(step.name):
                w = n + DERIVED_WARMUP[step.name] - 1
            width = max(width, min(w, MAX_BARS))
    return width


def history_fields(rule) -> set[str]:
    """Number fields the rule reads over more than the last bar."""
    from app.rules.checker import FieldRef

    needs = rule.needs(CROSS_SECTION)
    return {s.name for i, s in enumerate(rule.steps)
            if type(s) is FieldRef and s.kind == "number" and needs[i] > 1}


def derivable(name: str) -> bool:
    """A field the rule language derives from OHLCV bars (``sma50`` from ``close``...)."""
    spec = FIELDS.get(name)
    return name in BAR_FIELDS or (spec is not None and spec.derive is not None)


def needs_bars(rule) -> bool:
    """Whether the rule needs daily history (a bar field, or a derivable one, over > 1 bar)."""
    return any(derivable(n) for n in history_fields(rule))


def is_cross(rule) -> bool:
    """Whether the rule's condition contains a ``crosses_above`` / ``crosses_below``."""
    return any(getattr(getattr(s, "fn", None), "name", None) in CROSS_FUNCTIONS for s in rule.steps)


def bar_matrices(ids: np.ndarray, sessions: Sequence, live: Mapping[str, np.ndarray], width: int,
                 names: Iterable[str] = BAR_FIELDS) -> dict:
    """(len(ids), width) OHLCV of the stocks ``ids`` with ``live`` (the quote) as the last bar.

    ``sessions`` is each quote's session date: a later session than the last daily bar
    shifts the bars left (the quote is a new bar). A missing live value (NaN) keeps the
    stored bar (or leaves the new bar unknown)."""
    names = list(names)
    data = bars_for(width, names)
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    all_ids = data["ids"]
    pos = np.searchsorted(all_ids, ids) if len(all_ids) else np.zeros(n, dtype=int)
    found = (pos < len(all_ids)) & (all_ids[np.minimum(pos, max(len(all_ids) - 1, 0))] == ids) if len(all_ids) \
        else np.zeros(n, dtype=bool)
    stored = data[names[0]].shape[1] if names and names[0] in data else 0
    sess = np.asarray(sessions, dtype=object)
    last = np.full(n, None, dtype=object)
    if len(all_ids):
        last[found] = data["last_date"][pos[found]]
    newer = np.array([s is not None and (b is None or s > b) for s, b in zip(sess, last, strict=True)], dtype=bool)
    # one column more than stored when a quote opens a new bar, so the shift below drops no
    # stored bar while the width allows (a leading NaN only delays a row's warm-up)
    w = max(1, min(width, stored + int(newer.any())))
    k = min(w, stored)
    out = {}
    rows = pos[found]
    for name in names:
        m = np.full((n, w), np.nan)
        if len(all_ids) and k:
            m[found, w - k:] = data[name][rows, stored - k:]
        m[newer, :-1] = m[newer, 1:]
        m[newer, -1] = np.nan
        v = np.asarray(pd.to_numeric(pd.Series(live[name]), errors="coerce"), dtype=np.float64)
        ok = np.isfinite(v)
        m[ok, -1] = v[ok]
        out[name] = m
    return out


def build_series(rules: Sequence, ids, sessions, live: Mapping[str, np.ndarray],
                 stored: Mapping[str, np.ndarray], text: Mapping[str, Sequence] | None = None,
                 symbols: Sequence | None = None) -> SeriesData:
    """The SeriesData to evaluate ``rules`` over the stocks ``ids`` in cross-section mode.

    ``live``: the quote's OHLCV (1-D, one value per stock), the last bar; ``stored``: every
    other field as its stored per-stock value (1-D). When some rule needs history, the bar
    fields come from the daily-bar matrices ending with the quote, and derivable fields used
    over several bars are left out of ``stored`` (derived from the bars); otherwise
    everything is 1-D."""
    used = {n for r in rules for n in r.fields}
    history = set().union(*(history_fields(r) for r in rules)) if rules else set()
    bars = any(derivable(n) for n in history)
    fields: dict[str, np.ndarray] = {}
    if bars:
        derive = {n for n in history if derivable(n) and n not in BAR_FIELDS}
        wanted = list(BAR_FIELDS) if derive else [n for n in BAR_FIELDS if n in used]
        fields.update(bar_matrices(ids, sessions, live, width_for(rules), wanted))
        for n in used:
            if n in stored and n not in fields and n not in derive:
                fields[n] = stored[n]
    else:
        for n in used:
            if n in BAR_FIELDS and n in live:
                fields[n] = live[n]
            elif n in stored:
                fields[n] = stored[n]
    return SeriesData(fields, text={n: v for n, v in (text or {}).items() if n in used}, symbols=symbols)
