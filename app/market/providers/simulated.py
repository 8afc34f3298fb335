"""Simulated market data: a deterministic, seeded factor model of the US market.

Everything is a pure function of ``(seed, symbol, session, minute)``, so every worker
on every machine sees the same prices and a re-run writes the same rows:

* per-stock parameters come from a hash of ``(seed, symbol)`` and the stock's profile in
  the shipped universe (index membership and GICS sector, :func:`app.market.universe.profiles`):
  S&P 100 / Dow members are mega caps, S&P 500 / NASDAQ 100 large caps, S&P 600 small caps,
  each with a plausible start price (mostly $10-$700), share count (market caps ~$300 M-$3 T),
  annual volatility, market beta and traded volume;
* a daily log return is ``beta * market + sector + idiosyncratic``: one market factor
  (positive drift, ~17 % a year) and 11 sector factors shared by every stock, so stocks move
  together like real ones. The non-market part mean-reverts slowly (half-life 18 months)
  with no drift, so prices stay in a plausible range for decades instead of drifting to
  sub-penny levels. Every 63 sessions a stock reports earnings (a jump mostly at the open,
  with 3-4x volume) and rare news days move it 2-3 sigma;
* an ETF (SPY, QQQ, the sector SPDRs, ...) is built from its constituents: its beta and
  sector exposures are the cap-weighted averages of theirs, so SPY *is* the market factor;
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
from app.market.instruments import ETFS, GICS_SECTORS, SECTOR_INDEX
from app.market.providers.base import BarBatch, Provider, QuoteBatch, empty_bars, empty_fundamentals

ANCHOR = dt.date(2020, 1, 2)
CHUNK = 500  # symbols generated together (bounds memory)
DAYS = 252
# size buckets: mega, large, small, other (foreign listings, unknown symbols)
MEGA, LARGE, SMALL, OTHER = range(4)
_PRICE_MEDIAN = np.array([180.0, 95.0, 38.0, 55.0])
_PRICE_SD = np.array([0.6, 0.6, 0.5, 0.6])
_CAP_MEDIAN = np.array([300e9, 30e9, 1.8e9, 15e9])
_CAP_SD = np.array([0.7, 0.7, 0.6, 0.9])
_VOL_LO = np.array([0.14, 0.16, 0.24, 0.18])  # idiosyncratic annual volatility range
_VOL_HI = np.array([0.22, 0.28, 0.40, 0.30])
MARKET_DRIFT, MARKET_VOL, SECTOR_VOL = 0.08, 0.17, 0.12  # annual, log
HALF_LIFE_YEARS = 1.5
PHI = float(np.exp(-np.log(2) / (HALF_LIFE_YEARS * DAYS)))
EARNINGS_EVERY, EARNINGS_MULT, NEWS_Z, NEWS_MULT = 63, 4.5, 2.6, 2.2
# ETF start prices at ANCHOR (close to the real ones) and assets under management
_ETF_PRICE0 = {"SPY": 324.0, "QQQ": 216.0, "IWM": 167.0, "DIA": 288.0}
_ETF_AUM = {"SPY": 5.5e11, "QQQ": 3e11, "IWM": 6.5e10, "DIA": 3.4e10}
# typical dividend yield (%) per GICS sector, in GICS_SECTORS order
_SECTOR_YIELD = np.array([1.0, 0.8, 2.6, 3.5, 2.2, 1.5, 1.4, 0.7, 1.9, 3.8, 3.3])


def _hash(seed: int, symbol: str, salt: str = "") -> int:
    h = hashlib.blake2b(f"{seed}:{symbol}:{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little")


def _uniforms(seed: int, symbols: list[str], salt: str) -> np.ndarray:
    """Eight uniforms in (0, 1) per symbol from one hash each, shape (n, 8)."""
    raw = b"".join(hashlib.blake2b(f"{seed}:{s}:{salt}".encode(), digest_size=32).digest() for s in symbols)
    u = np.frombuffer(raw, dtype="<u4").reshape(len(symbols), 8).astype(np.float64)
    return (u + 0.5) / 2.0**32


def _normal(u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@lru_cache(maxsize=1)
def _anchor_sessions() -> tuple[pd.DatetimeIndex, dict]:
    days = mcal.sessions_in_range(ANCHOR, dt.date(2100, 1, 1))
    idx = pd.DatetimeIndex(pd.to_datetime(days))
    return idx, {d: i for i, d in enumerate(days)}


def _profile(symbols: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Size bucket and GICS sector index per symbol (hashed for symbols outside the seed)."""
    from app.market.universe import profiles

    prof = profiles()
    bucket = np.empty(len(symbols), dtype=np.int64)
    sector = np.empty(len(symbols), dtype=np.int64)
    for i, s in enumerate(symbols):
        h = _hash(0, s, "profile")
        indices, sec = prof.get(s, ((), None))
        if indices:
            ix = set(indices)
            bucket[i] = (MEGA if ix & {"S&P 100", "DOW JONES"} else LARGE if ix & {"S&P 500", "NASDAQ 100"}
                         else SMALL if "S&P 600" in ix else OTHER)
        else:  # an unknown symbol: a bucket by the market's mix
            bucket[i] = int(np.searchsorted([0.08, 0.4, 0.9, 1.0], (h % 1000) / 1000.0, side="right"))
        sector[i] = SECTOR_INDEX[sec] if sec in SECTOR_INDEX else (h >> 10) % len(GICS_SECTORS)
    return bucket, sector


@lru_cache(maxsize=8)
def _stock_params(seed: int, symbols: tuple[str, ...]) -> dict[str, np.ndarray]:
    syms = list(symbols)
    bucket, sector = _profile(syms)
    u = _uniforms(seed, syms, "params")
    price0 = np.clip(_PRICE_MEDIAN[bucket] * np.exp(_PRICE_SD[bucket] * _normal(u[:, 0], u[:, 1])), 8.0, 650.0)
    cap0 = np.clip(_CAP_MEDIAN[bucket] * np.exp(_CAP_SD[bucket] * _normal(u[:, 2], u[:, 3])), 3e8, 3.2e12)
    vol = _VOL_LO[bucket] + (_VOL_HI[bucket] - _VOL_LO[bucket]) * u[:, 4]
    small = bucket == SMALL
    beta = np.where(small, 0.9, 0.75) + np.where(small, 0.5, 0.5) * u[:, 5]
    turnover = 0.006 * np.exp(0.5 * _normal(u[:, 6], u[:, 1]))  # traded share of the cap per day
    shares = np.round(cap0 / price0, -3)
    n = len(syms)
    loadings = np.zeros((n, 1 + len(GICS_SECTORS)))
    loadings[:, 0] = beta
    loadings[np.arange(n), 1 + sector] = 0.8 + 0.4 * u[:, 7]
    return {"price0": price0, "shares": shares, "sigma": vol / np.sqrt(DAYS), "loadings": loadings,
            "avg_volume": np.maximum(shares * turnover, 5e4), "phase": np.floor(u[:, 7] * EARNINGS_EVERY),
            "earnings": np.ones(n, dtype=bool), "bucket": bucket, "sector": sector}


@lru_cache(maxsize=4)
def _etf_params(seed: int) -> dict[str, dict]:
    """Per ETF: beta and sector exposures = cap-weighted average of its constituents'."""
    from app.market.universe import profiles

    prof = profiles()
    members = [s for s in sorted(prof) if s not in ETFS]
    p = _stock_params(seed, tuple(members))
    caps = p["shares"] * p["price0"]
    out = {}
    for sym, etf in ETFS.items():
        pick = np.array([etf.index in prof[s][0] and (etf.sector is None or prof[s][1] == etf.sector)
                         for s in members])
        if not pick.any():  # no constituents in this seed: the market itself
            pick = np.ones(len(members), dtype=bool)
        w = caps[pick] / caps[pick].sum()
        out[sym] = {"loadings": w @ p["loadings"][pick],
                    "sigma": float(np.sqrt(np.sum((w * p["sigma"][pick]) ** 2))),
                    "constituents": [m for m, k in zip(members, pick, strict=True) if k], "weights": w}
    return out


def stock_params(seed: int, symbols: list[str]) -> dict[str, np.ndarray]:
    """Per-symbol start price, shares, daily idiosyncratic volatility, factor loadings
    (market, 11 sectors), average volume and earnings phase; ETFs from their constituents."""
    p = {k: v.copy() for k, v in _stock_params(seed, tuple(symbols)).items()}
    etfs = [i for i, s in enumerate(symbols) if s in ETFS]
    if etfs:
        ep = _etf_params(seed)
        for i in etfs:
            s = symbols[i]
            e = ep[s]
            p["loadings"][i] = e["loadings"]
            p["sigma"][i] = e["sigma"]
            p["price0"][i] = _ETF_PRICE0.get(s, 70.0)
            p["shares"][i] = np.round(_ETF_AUM.get(s, 2.5e10) / p["price0"][i], -3)
            p["avg_volume"][i] = p["shares"][i] * 0.01
            p["earnings"][i] = False
    return p


@lru_cache(maxsize=4)
def _factors(seed: int, n: int) -> np.ndarray:
    """Daily factor returns (n sessions, 1 + 11): the market (with its drift) and the
    sectors. One stream per factor, so the first sessions never change as ``n`` grows."""
    f = np.stack([np.random.default_rng(_hash(seed, f"factor:{k}", "daily")).standard_normal(n)
                  for k in range(1 + len(GICS_SECTORS))], axis=1)
    f[:, 0] = MARKET_DRIFT / DAYS + MARKET_VOL / np.sqrt(DAYS) * f[:, 0]
    f[:, 1:] *= SECTOR_VOL / np.sqrt(DAYS)
    return f


def _mean_revert(e: np.ndarray, block: int = 256) -> np.ndarray:
    """``x[t] = PHI * x[t-1] + e[t]`` along axis 1, vectorised per block of sessions
    (within a block the recursion is a scaled cumulative sum; PHI**-block stays small)."""
    out = np.empty_like(e)
    prev = np.zeros(e.shape[0])
    for b0 in range(0, e.shape[1], block):
        seg = e[:, b0:b0 + block]
        j = np.arange(seg.shape[1])
        pw = PHI ** j
        x = pw * (PHI * prev[:, None] + np.cumsum(seg / pw, axis=1))
        out[:, b0:b0 + block] = x
        prev = x[:, -1]
    return out


def _window_normals(seed: int, symbol: str, k0: int, w: int) -> np.ndarray:
    """Standard normals for sessions ``k0 .. k0+w-1`` (4 per session: gap, high and low
    excursion, volume noise) without generating the sessions before: the PCG64 stream
    is advanced straight to session ``k0`` (8 uniforms per session, Box-Muller)."""
    bg = np.random.PCG64(_hash(seed, symbol, "window")).advance(k0 * 8)
    u = np.random.Generator(bg).random((w, 8))
    r = np.sqrt(-2.0 * np.log1p(-u[:, 0::2]))
    return r * np.cos(2.0 * np.pi * u[:, 1::2])


def _paths(seed: int, symbols: list[str], n: int, p: dict) -> dict[str, np.ndarray]:
    """Log close paths of sessions ``0..n-1`` from :data:`ANCHOR`, with the market part
    of each return and the earnings / news days, shape (n_sym, n)."""
    z0 = np.stack([
        np.random.default_rng(_hash(seed, s, "daily")).standard_normal(n, dtype=np.float32)
        for s in symbols
    ]).astype(np.float64)
    f = _factors(seed, n)
    sig = p["sigma"][:, None]
    k = np.arange(n)
    earn = p["earnings"][:, None] & ((k[None, :] + p["phase"][:, None]) % EARNINGS_EVERY == 0)
    news = np.abs(z0) > NEWS_Z
    shock = sig * z0 * np.where(earn, EARNINGS_MULT, np.where(news, NEWS_MULT, 1.0))
    market = p["loadings"][:, :1] * f[:, 0][None, :]
    sector = p["loadings"][:, 1:] @ f[:, 1:].T
    logc = np.log(p["price0"])[:, None] + np.cumsum(market, axis=1) + _mean_revert(sector + shock)
    return {"logc": logc, "market": market, "big": earn | news, "earn": earn}


@lru_cache(maxsize=2)
def _constituent_returns(seed: int, n: int) -> tuple[tuple[str, ...], np.ndarray]:
    """Daily log returns of every seed stock (the ETFs' constituents), shape (n_sym, n)."""
    from app.market.universe import profiles

    members = tuple(s for s in sorted(profiles()) if s not in ETFS)
    rets = []
    for i in range(0, len(members), CHUNK):
        part = list(members[i:i + CHUNK])
        p = stock_params(seed, part)
        logc = _paths(seed, part, n, p)["logc"]
        rets.append(np.diff(np.concatenate([np.log(p["price0"])[:, None], logc], axis=1), axis=1))
    return members, np.concatenate(rets) if rets else np.empty((0, n))


def _etf_paths(seed: int, symbols: list[str], n: int, p: dict, out: dict) -> None:
    """Replace the ETF rows of ``out`` by their constituents' weighted daily returns:
    the ETF holds its basket (weights rebalanced daily), so SPY moves with the market."""
    members, rets = _constituent_returns(seed, n)
    pos = {s: i for i, s in enumerate(members)}
    ep = _etf_params(seed)
    for i, s in enumerate(symbols):
        if s not in ETFS:
            continue
        idx = [pos[m] for m in ep[s]["constituents"]]
        r = ep[s]["weights"] @ rets[idx]
        out["logc"][i] = np.log(p["price0"][i]) + np.cumsum(r)
        out["market"][i] = p["loadings"][i, 0] * _factors(seed, n)[:, 0]
        out["big"][i] = False
        out["earn"][i] = False


def _daily_chunk(seed: int, symbols: list[str], k0: int, k1: int) -> dict[str, np.ndarray]:
    """Daily OHLCV for session indexes ``k0..k1`` (inclusive) and each bar's previous close.

    Only the close path needs the whole history (from :data:`ANCHOR`); everything else is
    drawn for the requested window only."""
    n, w = k1 + 1, k1 - k0 + 1
    p = stock_params(seed, symbols)
    paths = _paths(seed, symbols, n, p)
    if any(s in ETFS for s in symbols):
        _etf_paths(seed, symbols, n, p, paths)
    zw = np.stack([_window_normals(seed, s, k0, w) for s in symbols])  # (n_sym, w, 4)
    sig = p["sigma"][:, None]
    logc, market, earn = paths["logc"], paths["market"], paths["earn"]
    logc_w = logc[:, k0:k1 + 1]
    logprev = np.concatenate([np.log(p["price0"])[:, None], logc[:, :-1]], axis=1)[:, k0:k1 + 1]
    close = np.exp(logc_w)
    prev_close = np.exp(logprev)
    ret = logc_w - logprev
    big = paths["big"][:, k0:k1 + 1]
    # overnight gap: most of an earnings / news move happens at the open, otherwise a
    # share of the market's move and some noise
    gap = np.where(big, 0.8 * ret, 0.3 * market[:, k0:k1 + 1]) + 0.25 * sig * zw[:, :, 0]
    open_ = prev_close * np.exp(gap)
    day_sig = np.sqrt(sig**2 + (p["loadings"][:, :1] * MARKET_VOL / np.sqrt(DAYS)) ** 2)
    high = np.maximum(open_, close) * np.exp(np.abs(zw[:, :, 1]) * day_sig * 0.5)
    low = np.minimum(open_, close) * np.exp(-np.abs(zw[:, :, 2]) * day_sig * 0.5)
    spike = np.where(earn[:, k0:k1 + 1], 3.5, 1.0) * np.where(zw[:, :, 3] > 2.05, 1.8, 1.0)
    vol = (p["avg_volume"][:, None] * np.exp(0.25 * zw[:, :, 3] - 0.03)
           * (0.65 + 0.35 * np.abs(ret / day_sig) ** 1.5) * spike)
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


def fundamentals_frame(seed: int, symbols: list[str]) -> pd.DataFrame:
    """Shares outstanding (as drawn), dividend yield by sector and a P/E per symbol."""
    if not symbols:
        return empty_fundamentals()
    p = stock_params(seed, symbols)
    u = _uniforms(seed, symbols, "fundamentals")
    etf = np.array([s in ETFS for s in symbols])
    pays = (p["bucket"] != SMALL) | (u[:, 0] < 0.6)
    dy = np.where(pays, _SECTOR_YIELD[p["sector"]] * np.exp(0.4 * _normal(u[:, 1], u[:, 2])), 0.0)
    pe = np.where(u[:, 3] < 0.1, np.nan, 21.0 * np.exp(0.45 * _normal(u[:, 4], u[:, 5])))  # some make losses
    return pd.DataFrame({"symbol": symbols, "shares_outstanding": p["shares"],
                         "dividend_yield": np.round(np.where(etf, 1.3, dy), 2),
                         "pe_ratio": np.round(np.where(etf, np.nan, pe), 1)})


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
    def fundamentals(self, symbols) -> pd.DataFrame:
        return fundamentals_frame(self.seed, list(dict.fromkeys(s.upper() for s in symbols)))

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
