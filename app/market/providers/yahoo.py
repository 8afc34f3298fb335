"""``yahoo`` provider via ``yfinance``: batched ``yf.download`` for bars and quotes.

``yf.download`` returns a DataFrame with MultiIndex columns ``(Price, Ticker)``;
a ticker that failed has all-NaN columns (or is missing), a batch that failed entirely
comes back empty or raises. Empty/failed batches raise :class:`ProviderError` so the
fetch layer backs off, rotates the proxy and splits the batch; per-ticker failures are
reported in ``errors``. Yahoo has no 10-minute interval: 5-minute bars are fetched and
aggregated to 10 minutes aligned on the session open.
"""
from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd

from app.market.providers.base import (
    BarBatch,
    Provider,
    ProviderError,
    QuoteBatch,
    empty_bars,
    empty_quotes,
)
from app.market.validation import clean_bars, clean_quotes

log = logging.getLogger(__name__)
YF_INTERVAL = {"1d": "1d", "10m": "5m", "1m": "1m"}


def to_yahoo(symbol: str) -> str:
    return symbol.upper().replace(".", "-")


def from_yahoo(ticker: str) -> str:
    return ticker.upper().replace("-", ".")


def frame_to_long(data: pd.DataFrame | None, tickers: list[str]) -> pd.DataFrame:
    """Turn yfinance's wide ``(Price, Ticker)`` frame into long rows."""
    if data is None or data.empty:
        return empty_bars()
    if not isinstance(data.columns, pd.MultiIndex):  # single ticker, flat columns
        data = pd.concat({tickers[0]: data}, axis=1).swaplevel(0, 1, axis=1)
    names = list(data.columns.names)
    price_level = names.index("Price") if "Price" in names else 0
    if price_level != 0:
        data = data.swaplevel(0, 1, axis=1)
    long = data.stack(level=1, future_stack=True)
    long.index.names = ["ts", "ticker"]
    long = long.reset_index()
    long.columns = [str(c).lower() for c in long.columns]
    if "volume" not in long.columns:
        long["volume"] = 0
    long = long.dropna(subset=["open", "high", "low", "close"], how="all")
    ts = pd.to_datetime(long["ts"])
    ts = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
    return pd.DataFrame({
        "symbol": long["ticker"].map(from_yahoo).to_numpy(dtype=object),
        "ts": ts.to_numpy(),
        **{c: long[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close", "volume")},
    }).assign(ts=lambda d: pd.to_datetime(d["ts"], utc=True))


def resample_10m(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    out = (df.set_index("ts").groupby("symbol")
           .resample("10min", label="left", closed="left")
           .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
           .dropna(subset=["close"]).reset_index())
    return out[["symbol", "ts", "open", "high", "low", "close", "volume"]]


class YahooProvider(Provider):
    name = "yahoo"
    remote = True

    def __init__(self, timeout: float = 15.0, proxy: str | None = None):
        self.timeout = timeout
        self.proxy = proxy

    def _download(self, tickers: list[str], **kw) -> pd.DataFrame:
        import yfinance as yf

        yf.config.network.proxy = self.proxy  # per worker process; set before each batch
        try:
            data = yf.download(tickers, group_by="column", auto_adjust=True, progress=False,
                               threads=False, timeout=self.timeout, multi_level_index=True, **kw)
        except Exception as exc:  # yfinance raises many types (curl, JSON, rate limit)
            from app.market.proxies import classify_error
            status = 429 if type(exc).__name__ == "YFRateLimitError" else None
            raise ProviderError(f"yahoo download failed: {exc}", status=status,
                                proxy_error=classify_error(exc)) from exc
        if data is None or data.empty or data.dropna(how="all").empty:
            raise ProviderError(f"yahoo returned an empty frame for {len(tickers)} symbol(s)")
        return data

    def bars(self, symbols, interval, start, end) -> BarBatch:
        self.check_interval(interval)
        tickers = [to_yahoo(s) for s in symbols]
        end_excl = pd.Timestamp(end) + (pd.Timedelta(days=1) if interval == "1d" else pd.Timedelta(0))
        data = self._download(tickers, start=pd.Timestamp(start).strftime("%Y-%m-%d"),
                              end=end_excl.strftime("%Y-%m-%d"), interval=YF_INTERVAL[interval])
        df = frame_to_long(data, tickers)
        if interval == "10m":
            df = resample_10m(df)
        df, dropped, flags = clean_bars(df)
        have = set(df["symbol"].unique())
        errors = {s: "yahoo: no data" for s in symbols if s not in have}
        return BarBatch(interval, df, errors, dropped, flags)

    def quotes(self, symbols, *, now=None) -> QuoteBatch:
        """Daily bars of the last few days: today's (partial) bar is the quote, the
        previous bar's close is the previous close."""
        now = pd.Timestamp(now or dt.datetime.now(dt.UTC))
        tickers = [to_yahoo(s) for s in symbols]
        data = self._download(tickers, period="5d", interval="1d")
        df, bar_dropped, _ = clean_bars(frame_to_long(data, tickers))
        if df.empty:
            return QuoteBatch(empty_quotes(), {s: "yahoo: no data" for s in symbols}, bar_dropped)
        prev = df.groupby("symbol")["close"].shift(1)
        last = df.assign(prev_close=prev).groupby("symbol").tail(1)
        q = pd.DataFrame({
            "symbol": last["symbol"].to_numpy(), "ts": now.tz_convert("UTC") if now.tzinfo else now.tz_localize("UTC"),
            "price": last["close"].to_numpy(), "prev_close": last["prev_close"].to_numpy(),
            "open": last["open"].to_numpy(), "high": last["high"].to_numpy(),
            "low": last["low"].to_numpy(), "volume": np.nan_to_num(last["volume"].to_numpy()),
        })
        q, dropped = clean_quotes(q)
        for k, v in bar_dropped.items():
            dropped[k] = dropped.get(k, 0) + v
        have = set(q["symbol"])
        return QuoteBatch(q, {s: "yahoo: no data" for s in symbols if s not in have}, dropped)

    def fundamentals(self, symbols) -> pd.DataFrame:
        """Shares outstanding from each ticker's fast info (one light request per symbol;
        the daily fundamentals step calls it once a day). A failing symbol is left out."""
        import yfinance as yf

        from app.market.providers.base import FUNDAMENTAL_COLUMNS, empty_fundamentals

        yf.config.network.proxy = self.proxy
        rows = []
        for sym in symbols:
            try:
                shares = yf.Ticker(to_yahoo(sym)).fast_info.get("shares")
            except Exception as exc:  # yfinance raises many types; one symbol never fails the batch
                log.info("yahoo fundamentals for %s failed: %s", sym, exc)
                continue
            if shares:
                rows.append((sym, float(shares), np.nan, np.nan))
        return pd.DataFrame(rows, columns=FUNDAMENTAL_COLUMNS) if rows else empty_fundamentals()
