"""``stooq`` provider: real daily bars over HTTP (CSV ``Date,Open,High,Low,Close,Volume``).

One request per symbol (Stooq has no batch endpoint) through ``requests``; US tickers
take the ``.us`` suffix. Stooq answers an unknown symbol with HTTP 200 and the body
``No data``; that is a per-symbol error, not a failed request.
"""
from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import requests

from app.market.providers.base import BarBatch, Provider, ProviderError, empty_bars
from app.market.providers.csvdir import quotes_from_daily
from app.market.validation import clean_bars

URL = "https://stooq.com/q/d/l/"


def stooq_symbol(symbol: str) -> str:
    return symbol.lower().replace(".", "-") + ".us"


def parse_csv(text: str, symbol: str) -> pd.DataFrame:
    """Parse Stooq's daily CSV; raise ValueError with the reason when unusable."""
    body = text.strip()
    if not body or body.lower().startswith("no data"):
        raise ValueError("no data")
    if body.lower().startswith("exceeded the daily hits limit"):
        raise ProviderError("stooq daily hits limit exceeded", status=429)
    df = pd.read_csv(io.StringIO(body))
    df.columns = [c.strip().lower() for c in df.columns]
    need = ["date", "open", "high", "low", "close"]
    if any(c not in df.columns for c in need):
        raise ValueError(f"unexpected columns {list(df.columns)}")
    if "volume" not in df.columns:
        df["volume"] = 0
    out = pd.DataFrame({
        "symbol": symbol,
        "ts": pd.to_datetime(df["date"], errors="coerce", utc=True),
        **{c: pd.to_numeric(df[c], errors="coerce") for c in ("open", "high", "low", "close", "volume")},
    })
    return out.dropna(subset=["ts"])


class StooqProvider(Provider):
    name = "stooq"
    intervals = ("1d",)
    remote = True

    def __init__(self, session: requests.Session | None = None, timeout: float = 10.0,
                 proxy: str | None = None):
        self.session = session or requests.Session()
        self.timeout = timeout
        self.proxy = proxy

    def _get(self, symbol: str, start, end) -> str:
        params = {"s": stooq_symbol(symbol), "i": "d",
                  "d1": pd.Timestamp(start).strftime("%Y%m%d"), "d2": pd.Timestamp(end).strftime("%Y%m%d")}
        proxies = {"http": self.proxy, "https": self.proxy} if self.proxy else None
        try:
            r = self.session.get(URL, params=params, timeout=self.timeout, proxies=proxies)
        except requests.RequestException as exc:
            from app.market.proxies import classify_error
            raise ProviderError(f"stooq request failed: {exc}", proxy_error=classify_error(exc)) from exc
        if r.status_code == 429 or r.status_code >= 500:
            raise ProviderError(f"stooq HTTP {r.status_code}", status=r.status_code)
        if r.status_code >= 400:
            raise ProviderError(f"stooq HTTP {r.status_code}", status=r.status_code, retryable=False)
        return r.text

    def bars(self, symbols, interval, start, end) -> BarBatch:
        self.check_interval(interval)
        frames, errors = [], {}
        for sym in symbols:
            text = self._get(sym, start, end)  # a failed request fails the batch (retried/split)
            try:
                frames.append(parse_csv(text, sym))
            except ValueError as exc:
                errors[sym] = f"stooq: {exc}"
        frame = pd.concat(frames, ignore_index=True) if frames else empty_bars()
        frame, dropped, flags = clean_bars(frame)
        for sym in symbols:
            if sym not in errors and not (frame["symbol"] == sym).any():
                errors[sym] = "stooq: no valid rows"
        return BarBatch("1d", frame, errors, dropped, flags)

    def quotes(self, symbols, *, now=None):
        now = pd.Timestamp(now or dt.datetime.now(dt.UTC))
        return quotes_from_daily(self.bars(symbols, "1d", now - pd.Timedelta(days=10), now))
