"""``csv`` provider: a directory of ``<SYMBOL>.csv`` files (date,open,high,low,close,volume).

For users who bring their own daily data. Header names are case-insensitive; ``date``
may also be ``timestamp``/``datetime`` and may carry a time (intraday files are not
supported: this provider delivers ``1d`` bars). A malformed file is reported for its
symbol with the file name and line number (never raised for the batch).
"""
from __future__ import annotations

import csv
import datetime as dt
import math
import os

import pandas as pd

from app.market.providers.base import BarBatch, Provider, QuoteBatch, empty_bars
from app.market.validation import clean_bars

REQUIRED = ["date", "open", "high", "low", "close", "volume"]
ALIASES = {"timestamp": "date", "datetime": "date", "time": "date", "adj close": "adj_close"}


class CsvFileError(ValueError):
    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{os.path.basename(path)}, line {line}: {message}")
        self.path, self.line = path, line


def read_symbol_file(path: str, symbol: str) -> pd.DataFrame:
    """Parse one file strictly; raise :class:`CsvFileError` naming file and line."""
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise CsvFileError(path, 1, "the file is empty") from None
        cols = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise CsvFileError(path, 1, f"missing column(s) {', '.join(missing)}; "
                               f"expected {','.join(REQUIRED)}")
        ix = {c: cols.index(c) for c in REQUIRED}
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) < len(cols):
                raise CsvFileError(path, line, f"expected {len(cols)} fields, found {len(row)}")
            try:
                ts = pd.Timestamp(row[ix["date"]].strip())
            except (ValueError, TypeError):
                raise CsvFileError(path, line, f"bad date {row[ix['date']]!r}") from None
            if ts is pd.NaT:
                raise CsvFileError(path, line, f"bad date {row[ix['date']]!r}")
            vals = []
            for c in REQUIRED[1:]:
                raw = row[ix[c]].strip()
                try:
                    v = float(raw) if raw else math.nan
                except ValueError:
                    raise CsvFileError(path, line, f"bad number {raw!r} in column {c}") from None
                vals.append(v)
            rows.append((symbol, ts, *vals))
    df = pd.DataFrame(rows, columns=["symbol", "ts", "open", "high", "low", "close", "volume"])
    if df.empty:
        return empty_bars()
    ts = pd.to_datetime(df["ts"])
    df["ts"] = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
    df["ts"] = df["ts"].dt.normalize()
    return df


def last_shares(path: str) -> float | None:
    """The last positive value of the optional shares column of a symbol file."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        col = next((header.index(c) for c in ("shares_outstanding", "shares") if c in header), None)
        if col is None:
            return None
        value = None
        for row in reader:
            try:
                v = float(row[col]) if len(row) > col and row[col].strip() else None
            except ValueError:
                continue
            if v and v > 0:
                value = v
        return value


class CsvProvider(Provider):
    name = "csv"
    intervals = ("1d",)

    def __init__(self, directory: str):
        if not directory:
            raise ValueError("MARKET_DATA_CSV_DIR is not set")
        self.directory = directory

    def _path(self, symbol: str) -> str | None:
        for cand in (f"{symbol}.csv", f"{symbol.lower()}.csv"):
            p = os.path.join(self.directory, cand)
            if os.path.isfile(p):
                return p
        return None

    def bars(self, symbols, interval, start, end) -> BarBatch:
        self.check_interval(interval)
        start = pd.Timestamp(start).tz_localize("UTC") if pd.Timestamp(start).tzinfo is None else pd.Timestamp(start).tz_convert("UTC")
        end = pd.Timestamp(end).tz_localize("UTC") if pd.Timestamp(end).tzinfo is None else pd.Timestamp(end).tz_convert("UTC")
        frames, errors = [], {}
        for sym in symbols:
            path = self._path(sym)
            if path is None:
                errors[sym] = f"no file {sym}.csv in {self.directory}"
                continue
            try:
                df = read_symbol_file(path, sym)
            except CsvFileError as exc:
                errors[sym] = str(exc)
                continue
            except (OSError, UnicodeDecodeError) as exc:
                errors[sym] = f"{os.path.basename(path)}: {exc}"
                continue
            df = df[(df["ts"] >= start.normalize()) & (df["ts"] <= end)]
            if df.empty:
                errors[sym] = f"{os.path.basename(path)}: no rows between {start.date()} and {end.date()}"
                continue
            frames.append(df)
        frame = pd.concat(frames, ignore_index=True) if frames else empty_bars()
        frame, dropped, flags = clean_bars(frame)
        for sym in symbols:
            if sym not in errors and not (frame["symbol"] == sym).any():
                errors[sym] = "every row was invalid"
        return BarBatch("1d", frame, errors, dropped, flags)

    def fundamentals(self, symbols) -> pd.DataFrame:
        """Shares outstanding from an optional ``shares_outstanding`` (or ``shares``) column
        of the symbol's file: its last non-empty value."""
        from app.market.providers.base import FUNDAMENTAL_COLUMNS, empty_fundamentals

        rows = []
        for sym in symbols:
            path = self._path(sym)
            if path is None:
                continue
            try:
                shares = last_shares(path)
            except (OSError, UnicodeDecodeError, csv.Error):
                continue
            if shares:
                rows.append((sym, shares, math.nan, math.nan))
        return pd.DataFrame(rows, columns=FUNDAMENTAL_COLUMNS) if rows else empty_fundamentals()

    def quotes(self, symbols, *, now=None) -> QuoteBatch:
        """The last two rows of each file: the last bar is the quote, the one before
        gives the previous close."""
        now = pd.Timestamp(now or dt.datetime.now(dt.UTC))
        batch = self.bars(symbols, "1d", dt.datetime(1900, 1, 1), now)
        return quotes_from_daily(batch)


def quotes_from_daily(batch: BarBatch) -> QuoteBatch:
    """Quotes built from daily bars: last bar per symbol, previous close from the one before."""
    from app.market.providers.base import QUOTE_COLUMNS, empty_quotes

    df = batch.frame
    if df.empty:
        return QuoteBatch(empty_quotes(), dict(batch.errors), dict(batch.dropped), dict(batch.flags))
    df = df.sort_values(["symbol", "ts"])
    prev = df.groupby("symbol")["close"].shift(1)
    last = df.assign(prev_close=prev).groupby("symbol").tail(1)
    q = last.rename(columns={"close": "price"})[QUOTE_COLUMNS].reset_index(drop=True)
    return QuoteBatch(q, dict(batch.errors), dict(batch.dropped), dict(batch.flags))
