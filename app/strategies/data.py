"""Daily bars of a universe as aligned ``(symbols, sessions)`` arrays for the engine."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select

from app.extensions import db
from app.models.market import Stock

WARMUP_DAYS = 400  # calendar days of bars loaded before the range (252-bar windows and more)
BENCHMARK_SYMBOL = "SPY"


@dataclass
class Panel:
    stock_ids: np.ndarray  # (S,)
    symbols: list[str]
    dates: list[dt.date]  # (T,) sessions, oldest first
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.close.shape

    def fields(self) -> dict[str, np.ndarray]:
        return {"open": self.open, "high": self.high, "low": self.low, "close": self.close, "volume": self.volume}


def resolve_symbols(symbols: list[str]) -> list[tuple[int, str]]:
    """(stock id, symbol) of the known symbols, in the order given."""
    if not symbols:
        return []
    rows = dict((r.symbol, r.id) for r in db.session.execute(
        select(Stock.id, Stock.symbol).where(Stock.symbol.in_([s.upper() for s in symbols]))))
    return [(rows[s.upper()], s.upper()) for s in symbols if s.upper() in rows]


def load_panel(stock_ids: list[int], symbols: list[str], since: dt.date | None = None,
               until: dt.date | None = None) -> Panel:
    """Daily bars of the stocks aligned on the union of their sessions (missing bars NaN)."""
    from app.market.services import read_bars

    since_ts = dt.datetime.combine(since or dt.date(1970, 1, 1), dt.time(), tzinfo=dt.UTC)
    until_ts = dt.datetime.combine(until, dt.time(23, 59), tzinfo=dt.UTC) if until else None
    df = read_bars(list(stock_ids), "1d", since_ts, until_ts)
    if df.empty:
        empty = np.empty((len(stock_ids), 0))
        return Panel(np.asarray(stock_ids), list(symbols), [], empty, empty, empty, empty, empty)
    df["day"] = df["ts"].dt.date
    dates = sorted(df["day"].unique())
    pos = {sid: i for i, sid in enumerate(stock_ids)}
    rows = df["symbol"].map(pos).to_numpy()
    cols = np.searchsorted(np.array(dates, dtype="datetime64[D]"), df["day"].to_numpy().astype("datetime64[D]"))
    arrays = {}
    for name in ("open", "high", "low", "close", "volume"):
        a = np.full((len(stock_ids), len(dates)), np.nan)
        a[rows, cols] = df[name].to_numpy(dtype=float)
        arrays[name] = a
    return Panel(np.asarray(stock_ids), list(symbols), list(dates), **arrays)


def benchmark_symbol(choice: str | None, symbols: list[str]) -> str:
    """The benchmark ETF of a strategy: SPY, QQQ, IWM, or ("sector") the sector SPDR of
    the sector most of the universe's stocks are in (SPY when they have none)."""
    from app.market.instruments import BENCHMARKS, SECTOR_ETF

    choice = choice if choice in BENCHMARKS else BENCHMARK_SYMBOL
    if choice != "sector":
        return choice
    rows = db.session.execute(select(Stock.sector).where(Stock.symbol.in_([s.upper() for s in symbols]),
                                                         Stock.sector.is_not(None))).scalars().all()
    if not rows:
        return BENCHMARK_SYMBOL
    counts = pd.Series(rows).value_counts()
    top = sorted(counts[counts == counts.max()].index)[0]  # ties: alphabetical, so it is stable
    return SECTOR_ETF.get(top, BENCHMARK_SYMBOL)


def benchmark_closes(dates: list[dt.date], symbol: str = BENCHMARK_SYMBOL) -> np.ndarray | None:
    """The benchmark's (default SPY's) closes on ``dates`` (forward-filled), or None when
    it has no bars here."""
    got = resolve_symbols([symbol])
    if not got or not dates:
        return None
    panel = load_panel([got[0][0]], [symbol], dates[0], dates[-1])
    if not panel.dates:
        return None
    series = pd.Series(panel.close[0], index=pd.Index(panel.dates)).reindex(dates).ffill().bfill()
    values = series.to_numpy(dtype=float)
    return None if np.isnan(values).all() else values


def benchmark(dates: list[dt.date], symbols: list[str] | None = None,
              close: np.ndarray | None = None, symbol: str = BENCHMARK_SYMBOL) -> tuple[np.ndarray, str]:
    """THE benchmark a strategy is compared with over ``dates`` -- backtest results and the
    forward chart both come here: ``(levels on dates, label)``. ``symbol``'s closes (the
    strategy's choice, see :func:`benchmark_symbol`; SPY by default) when it has bars here,
    otherwise the equal-weight index of the universe: ``close`` (symbols x dates, already
    aligned on ``dates``) or the daily bars of ``symbols``. Empty without dates."""
    label = f"{symbol} buy-and-hold"
    if not dates:
        return np.empty(0), label
    levels = benchmark_closes(dates, symbol)
    if levels is not None:
        return levels, label
    if close is None:
        pairs = resolve_symbols(symbols or [])
        panel = load_panel([i for i, _ in pairs], [s for _, s in pairs], dates[0], dates[-1])
        close = np.full((len(pairs), len(dates)), np.nan)
        if panel.dates:
            at = {d: k for k, d in enumerate(panel.dates)}
            cols = [at.get(d) for d in dates]
            for j, k in enumerate(cols):
                if k is not None:
                    close[:, j] = panel.close[:, k]
    return equal_weight_index(close), f"equal-weight index of the universe ({symbol} has no bars here)"


def scaled(levels: np.ndarray, start_value: float) -> np.ndarray:
    """Benchmark levels as the equity of ``start_value`` invested on the first date."""
    if levels.size and np.isfinite(levels[0]) and levels[0] > 0:
        return levels / levels[0] * start_value
    return levels


def equal_weight_index(close: np.ndarray) -> np.ndarray:
    """The universe's equal-weight index (mean of each symbol's growth since the first bar)."""
    if close.size == 0:
        return np.empty(0)
    filled = pd.DataFrame(close.T).ffill().bfill().to_numpy().T
    base = filled[:, :1]
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(base > 0, filled / base, np.nan)
    return np.nanmean(growth, axis=0) if not np.isnan(growth).all() else np.ones(close.shape[1])
