"""Provider interface shared by every market data source.

A provider answers two questions for a list of symbols:

* ``quotes(symbols) -> QuoteBatch``: the current state of the trading day;
* ``bars(symbols, interval, start, end) -> BarBatch``: OHLCV history.

One bad symbol never raises: it is reported in ``errors`` and the other symbols
are kept (partial success). Only a failure of the whole request (network down,
rate limited, ...) raises :class:`ProviderError`, which the fetch layer
(:mod:`app.market.fetching`) retries, splits and records.

Data travels as long-format pandas frames (one row per symbol and timestamp):
that is what the bulk upserts and the vectorised indicators consume.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

INTERVALS = ("1d", "10m", "1m")

BAR_COLUMNS = ["symbol", "ts", "open", "high", "low", "close", "volume"]
QUOTE_COLUMNS = [
    "symbol", "ts", "price", "prev_close", "open", "high", "low", "volume",
]
#: the daily fundamentals step (NaN where the provider has no value)
FUNDAMENTAL_COLUMNS = ["symbol", "shares_outstanding", "dividend_yield", "pe_ratio"]


def empty_fundamentals() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="float64") for c in FUNDAMENTAL_COLUMNS})
    df["symbol"] = df["symbol"].astype("object")
    return df


class ProviderError(Exception):
    """A whole request failed (network, HTTP status, unparsable payload).

    ``status`` is the HTTP status when there was one; ``retryable`` tells the fetch
    layer whether a retry (after backoff) may help.
    """

    def __init__(self, message: str, *, status: int | None = None,
                 retryable: bool = True, proxy_error: str | None = None):
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        # classification of a proxy failure (see app.market.proxies.classify_error)
        self.proxy_error = proxy_error


def empty_bars() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="float64") for c in BAR_COLUMNS})
    df["symbol"] = df["symbol"].astype("object")
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    df["volume"] = df["volume"].astype("int64")
    return df


def empty_quotes() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="float64") for c in QUOTE_COLUMNS})
    df["symbol"] = df["symbol"].astype("object")
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    df["volume"] = df["volume"].astype("int64")
    return df


@dataclass
class BarBatch:
    """Bars for many symbols: ``frame`` has :data:`BAR_COLUMNS`, ``ts`` UTC-aware.

    ``errors`` maps a symbol to why it has no data; ``dropped`` counts rows removed
    by validation per reason; ``flags`` maps a symbol to warnings on kept rows
    (e.g. a suspected split).
    """

    interval: str
    frame: pd.DataFrame = field(default_factory=empty_bars)
    errors: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)

    @property
    def symbols_ok(self) -> list[str]:
        return sorted(set(self.frame["symbol"].unique()))

    def merge(self, other: "BarBatch") -> "BarBatch":
        frames = [f for f in (self.frame, other.frame) if len(f)]
        frame = pd.concat(frames, ignore_index=True) if frames else empty_bars()
        errors = {**self.errors, **other.errors}
        ok = set(frame["symbol"].unique()) if len(frame) else set()
        for sym in ok:
            errors.pop(sym, None)
        dropped = dict(self.dropped)
        for k, v in other.dropped.items():
            dropped[k] = dropped.get(k, 0) + v
        return BarBatch(self.interval, frame, errors, dropped, {**self.flags, **other.flags})


@dataclass
class QuoteBatch:
    """Quotes for many symbols: ``frame`` has :data:`QUOTE_COLUMNS`, one row per symbol."""

    frame: pd.DataFrame = field(default_factory=empty_quotes)
    errors: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)

    @property
    def symbols_ok(self) -> list[str]:
        return sorted(set(self.frame["symbol"].unique()))

    def merge(self, other: "QuoteBatch") -> "QuoteBatch":
        frames = [f for f in (self.frame, other.frame) if len(f)]
        frame = pd.concat(frames, ignore_index=True) if frames else empty_quotes()
        errors = {**self.errors, **other.errors}
        for sym in set(frame["symbol"].unique()) if len(frame) else set():
            errors.pop(sym, None)
        dropped = dict(self.dropped)
        for k, v in other.dropped.items():
            dropped[k] = dropped.get(k, 0) + v
        return QuoteBatch(frame, errors, dropped, {**self.flags, **other.flags})


class Provider:
    """Base class. Subclasses set ``name`` and implement the two fetches."""

    name = "base"
    #: whether prices are made up (shown with a "simulated data" badge)
    simulated = False
    #: intervals the provider can deliver
    intervals: tuple[str, ...] = INTERVALS
    #: whether each call goes over the network (rate limited, proxied)
    remote = False

    def quotes(self, symbols: list[str], *, now: dt.datetime | None = None) -> QuoteBatch:
        raise NotImplementedError

    def bars(self, symbols: list[str], interval: str, start: dt.datetime,
             end: dt.datetime) -> BarBatch:
        raise NotImplementedError

    def fundamentals(self, symbols: list[str]) -> pd.DataFrame:
        """Shares outstanding (and where known dividend yield in %, P/E) per symbol:
        :data:`FUNDAMENTAL_COLUMNS`. Symbols without data are left out."""
        return empty_fundamentals()

    def check_interval(self, interval: str) -> None:
        if interval not in self.intervals:
            raise ValueError(f"{self.name} provider does not deliver {interval} bars")
