"""Simulated market data: a deterministic, seeded random walk per stock.

Everything is a pure function of ``(seed, symbol, session, minute)``, so every worker
on every machine sees the same prices and a re-run writes the same rows:

* per-stock parameters (start price, volatility, drift, average volume) come from a
  hash of ``(seed, symbol)``;
* daily bars are a geometric random walk from :data:`ANCHOR` with overnight gaps,
  intraday excursions and a volume that rises on big moves;
* 1-minute bars of a session are a bridge from the daily open to the daily close that
  touches the daily high and low exactly, with a U-shaped volume profile summing to the
  daily volume; 10-minute bars aggregate them. So intraday bars always agree with the
  daily bar;
* a quote at time ``t`` is the intraday path up to the minute of ``t``: prices move
  every minute, and at the close the quote equals the daily bar.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from functools import lru_cache

import numpy as np
import pandas as pd

from app.market import calendar as mcal
from app.market.providers.base import BarBatch, Provider, QuoteBatch, empty_bars

ANCHOR = dt.date(2020, 1, 2)
CHUNK = 500  # symbols generated together (bounds memory)


def _hash(seed: int, symbol: str, salt: str = "") -> int:
    h = hashlib.blake2b(f"{seed}:{symbol}:{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little")


@lru_cache(maxsize=1)
def _anchor_sessions() -> tuple[pd.DatetimeIndex, dict]:
    days = mcal.sessions_in_range(ANCHOR, dt.date(2100, 1, 1))
    idx = pd.DatetimeIndex(pd.to_datetime(days))
    return idx, {d: i for i, d in enumerate(days)}


def stock_params(seed: int, symbols: list[str]) -> dict[str, np.ndarray]:
    """Per-stock start price, daily volatility, daily drift and average volume."""
    n = len(symbols)
    out = {k: np.empty(n) for k in ("price0", "sigma", "mu", "avg_volume")}
    for i, s in enumerate(symbols):
        u = np.random.default_rng(_hash(seed, s, "params")).random(5)
        if u[4] < 0.03:  # a few penny stocks
            price0 = 0.2 + 0.8 * u[0]
        else:
            price0 = float(np.exp(np.log(3) + u[0] * (np.log(600) - np.log(3))))
        out["price0"][i] = price0
        out["sigma"][i] = (0.15 + 0.6 * u[1]) / np.sqrt(252)
        out["mu"][i] = (-0.10 + 0.35 * u[2]) / 252
        out["avg_volume"][i] = float(np.exp(np.log(1.5e5) + u[3] * (np.log(4e7) - np.log(1.5e5))))
    return out


def _window_normals(seed: int, symbol: str, k0: int, w: int) -> np.ndarray:
    """Standard normals for sessions ``k0 .. k0+w-1`` (4 per session: gap, high and low
    excursion, volume noise) without generating the sessions before: the PCG64 stream
    is advanced straight to session ``k0`` (8 uniforms per session, Box-Muller)."""
    bg = np.random.PCG64(_hash(seed, symbol, "window")).advance(k0 * 8)
    u = np.random.Generator(bg).random((w, 8))
    r = np.sqrt(-2.0 * np.log1p(-u[:, 0::2]))
    return r * np.cos(2.0 * np.pi * u[:, 1::2])


def _daily_chunk(seed: int, symbols: list[str], k0: int, k1: int) -> dict[str, np.ndarray]:
    """Daily OHLCV for session indexes ``k0..k1`` (inclusive) and each bar's previous close.

    Only the close path needs the whole history (a cumulative sum from :data:`ANCHOR`);
    everything else is drawn for the requested window only."""
    n, w = k1 + 1, k1 - k0 + 1
    p = stock_params(seed, symbols)
    z0 = np.stack([
        np.random.default_rng(_hash(seed, s, "daily")).standard_normal(n, dtype=np.float32)
        for s in symbols
    ]).astype(np.float64)  # (n_sym, n)
    zw = np.stack([_window_normals(seed, s, k0, w) for s in symbols])  # (n_sym, w, 4)
    sig = p["sigma"][:, None]
    mu = p["mu"][:, None]
    # close-to-close log return; the overnight gap is a part of it
    logc = np.log(p["price0"])[:, None] + np.cumsum(mu - 0.5 * sig**2 + sig * z0, axis=1)
    logc_w = logc[:, k0:k1 + 1]
    logprev = np.concatenate([np.log(p["price0"])[:, None], logc[:, :-1]], axis=1)[:, k0:k1 + 1]
    close = np.exp(logc_w)
    prev_close = np.exp(logprev)
    open_ = prev_close * np.exp(0.35 * sig * zw[:, :, 0])
    high = np.maximum(open_, close) * np.exp(np.abs(zw[:, :, 1]) * sig * 0.6)
    low = np.minimum(open_, close) * np.exp(-np.abs(zw[:, :, 2]) * sig * 0.6)
    ret = (logc_w - logprev) / sig
    vol = p["avg_volume"][:, None] * np.exp(0.3 * zw[:, :, 3] - 0.045) * (0.6 + 0.4 * np.abs(ret) ** 1.5)
    r4 = lambda a: np.round(a, 4)  # noqa: E731
    return {
        "open": r4(open_), "high": r4(high), "low": r4(low), "close": r4(close),
        "volume": np.maximum(np.round(vol), 1).astype(np.int64), "prev_close": r4(prev_close),
    }


def daily_arrays(seed: int, symbols: list[str], k0: int, k1: int) -> dict[str, np.ndarray]:
    parts = [_daily_chunk(seed, symbols[i:i + CHUNK], k0, k1) for i in range(0, len(symbols), CHUNK)]
    if not parts:
        return {k: np.empty((0, k1 - k0 + 1)) for k in ("open", "high", "low", "close", "volume", "prev_close")}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


@lru_cache(maxsize=64)
def _session_bars(seed: int, symbols: tuple[str, ...], k: int) -> dict[str, np.ndarray]:
    """One session's daily bars, cached per process: a worker quotes the same chunk of
    stocks every minute of a session (a few KB per chunk)."""
    return daily_arrays(seed, list(symbols), k, k)


def intraday_minutes(seed: int, symbols: list[str], session: dt.date,
                     daily: dict[str, np.ndarray], col: int) -> dict[str, np.ndarray]:
    """1-minute OHLCV paths, shape (n_sym, minutes), consistent with the daily bar
    in column ``col`` of ``daily``."""
    M = mcal.session_minutes(session)
    n = len(symbols)
    Op, H, L, C = (daily[k][:, col] for k in ("open", "high", "low", "close"))
    V = daily["volume"][:, col]
    t = np.arange(M, dtype=np.float64)
    closes = np.empty((n, M))
    wig = np.empty((n, M))
    vnoise = np.empty((n, M))
    for i, s in enumerate(symbols):
        g = np.random.default_rng(_hash(seed, s, f"intraday:{session.isoformat()}"))
        z = g.standard_normal((3, M))
        th, tl = g.choice(np.arange(1, M - 1), size=2, replace=False)
        pts_t = np.array([0, th, tl, M - 1], dtype=float)
        pts_v = np.array([Op[i], H[i], L[i], C[i]])
        order = np.argsort(pts_t)
        base = np.interp(t, pts_t[order], pts_v[order])
        w = np.cumsum(z[0]) / np.sqrt(M)
        bridge = w - t / (M - 1) * w[-1]
        path = base + bridge * (H[i] - L[i]) * 0.12
        path = np.clip(path, L[i], H[i])
        path[int(th)], path[int(tl)], path[-1] = H[i], L[i], C[i]
        closes[i] = path
        wig[i] = np.abs(z[1])
        vnoise[i] = z[2]
    closes = np.round(closes, 4)
    opens = np.concatenate([Op[:, None], closes[:, :-1]], axis=1)
    rng_ = (H - L)[:, None]
    highs = np.minimum(np.maximum(opens, closes) + wig * rng_ * 0.01, H[:, None])
    lows = np.maximum(np.minimum(opens, closes) - wig * rng_ * 0.01, L[:, None])
    prof = (1 + 1.6 * np.exp(-t / 25) + 1.1 * np.exp(-(M - 1 - t) / 25))[None, :] * np.exp(0.25 * vnoise)
    cum = np.cumsum(prof, axis=1)
    cum = np.round(cum / cum[:, -1:] * V[:, None]).astype(np.int64)
    vols = np.diff(np.concatenate([np.zeros((n, 1), np.int64), cum], axis=1), axis=1)
    return {"open": opens, "high": np.round(highs, 4), "low": np.round(lows, 4),
            "close": closes, "volume": vols}


class SimulatedProvider(Provider):
    name = "simulated"
    simulated = True

    def __init__(self, seed: int = 42, always_open: bool = False):
        self.seed = int(seed)
        self.always_open = always_open

    # -- helpers -------------------------------------------------------------
    def _k(self, session: dt.date) -> int:
        _, pos = _anchor_sessions()
        return pos[session]

    def _quote_point(self, now: dt.datetime) -> tuple[dt.date, int]:
        """(session, minute index) the quote at ``now`` shows."""
        now = pd.Timestamp(now).tz_convert("UTC") if pd.Timestamp(now).tzinfo else pd.Timestamp(now, tz="UTC")
        sess = mcal.current_session(now)
        if sess is not None:
            o, _ = mcal.session_open_close(sess)
            # the last completed minute bar (the first minute is shown while it forms)
            return sess, max(0, int((now - pd.Timestamp(o)).total_seconds() // 60) - 1)
        last = mcal.last_completed_session(now)
        if not self.always_open:
            return last, mcal.session_minutes(last) - 1
        nxt = mcal.next_session(last)
        M = mcal.session_minutes(nxt)
        return nxt, int(now.timestamp() // 60) % M

    # -- interface -----------------------------------------------------------
    def quotes(self, symbols, *, now=None) -> QuoteBatch:
        now = now or dt.datetime.now(dt.UTC)
        symbols = list(dict.fromkeys(s.upper() for s in symbols))
        if not symbols:
            return QuoteBatch()
        sess, m = self._quote_point(now)
        k = self._k(sess)
        daily = _session_bars(self.seed, tuple(symbols), k)
        mins = intraday_minutes(self.seed, symbols, sess, daily, 0)
        o, _ = mcal.session_open_close(sess)
        ts = pd.Timestamp(o) + pd.Timedelta(minutes=m + 1)
        ts = min(ts, pd.Timestamp(now).tz_convert("UTC") if pd.Timestamp(now).tzinfo else pd.Timestamp(now, tz="UTC"))
        frame = pd.DataFrame({
            "symbol": symbols,
            "ts": pd.DatetimeIndex([ts] * len(symbols)),
            "price": mins["close"][:, m],
            "prev_close": daily["prev_close"][:, 0],
            "open": daily["open"][:, 0],
            "high": mins["high"][:, : m + 1].max(axis=1),
            "low": mins["low"][:, : m + 1].min(axis=1),
            "volume": mins["volume"][:, : m + 1].sum(axis=1),
            # extra columns: which session and minute the quote shows (for the
            # time-of-day adjusted relative volume in always-open mode)
            "session": sess,
            "minute": m,
        })
        return QuoteBatch(frame)

    def bars(self, symbols, interval, start, end) -> BarBatch:
        self.check_interval(interval)
        symbols = list(dict.fromkeys(s.upper() for s in symbols))
        start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
        start_ts = start_ts.tz_localize("UTC") if start_ts.tzinfo is None else start_ts.tz_convert("UTC")
        end_ts = end_ts.tz_localize("UTC") if end_ts.tzinfo is None else end_ts.tz_convert("UTC")
        idx, pos = _anchor_sessions()
        days = [d for d in mcal.sessions_in_range(max(start_ts.date(), ANCHOR), end_ts.date()) if d in pos]
        if not symbols or not days:
            return BarBatch(interval, empty_bars())
        k0, k1 = pos[days[0]], pos[days[-1]]
        daily = daily_arrays(self.seed, symbols, k0, k1)
        if interval == "1d":
            n_days = k1 - k0 + 1
            ts = pd.DatetimeIndex(idx[k0:k1 + 1]).tz_localize("UTC")
            frame = pd.DataFrame({
                "symbol": np.repeat(np.array(symbols, dtype=object), n_days),
                "ts": np.tile(ts.values, len(symbols)),
                **{c: daily[c].ravel() for c in ("open", "high", "low", "close", "volume")},
            })
            frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        else:
            frames = []
            now = pd.Timestamp.now(tz="UTC")
            for day in days:
                col = pos[day] - k0
                mins = intraday_minutes(self.seed, symbols, day, daily, col)
                o, _ = mcal.session_open_close(day)
                M = mins["close"].shape[1]
                step = 10 if interval == "10m" else 1
                starts = pd.Timestamp(o) + pd.to_timedelta(np.arange(0, M, step), unit="m")
                if step == 1:
                    agg = mins
                else:
                    b = np.arange(0, M, step)
                    agg = {
                        "open": mins["open"][:, b],
                        "high": np.maximum.reduceat(mins["high"], b, axis=1),
                        "low": np.minimum.reduceat(mins["low"], b, axis=1),
                        "close": mins["close"][:, np.minimum(b + step, M) - 1],
                        "volume": np.add.reduceat(mins["volume"], b, axis=1),
                    }
                nb = len(starts)
                f = pd.DataFrame({
                    "symbol": np.repeat(np.array(symbols, dtype=object), nb),
                    "ts": np.tile(starts.values, len(symbols)),
                    **{c: agg[c].ravel() for c in ("open", "high", "low", "close", "volume")},
                })
                frames.append(f)
            frame = pd.concat(frames, ignore_index=True)
            frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
            # bars that have not completed yet do not exist
            step_td = pd.Timedelta(minutes=10 if interval == "10m" else 1)
            frame = frame[(frame["ts"] >= start_ts) & (frame["ts"] + step_td <= min(end_ts, now))]
        frame = frame.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True)
        return BarBatch(interval, frame)
