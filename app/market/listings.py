"""Universe upkeep from NASDAQ Trader symbol directory files.

``nasdaqlisted.txt`` (NASDAQ) and ``otherlisted.txt`` (NYSE, NYSE American, NYSE Arca,
Cboe BZX, IEX) are pipe-delimited with a header line and a ``File Creation Time: ...``
trailer. An import adds new symbols, updates names / exchanges / asset types, marks test
issues (kept inactive: never scanned) and ETFs, and deactivates -- never deletes -- the
symbols of the file's exchanges that are no longer in it (they keep their history; the
stock page says "no longer listed"). A file without its trailer is refused: a truncated
download would otherwise deactivate half the market.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select

from app.database import utcnow
from app.errors import InvalidInput
from app.extensions import db
from app.market.universe import SYMBOL_RE
from app.models.market import Stock

NASDAQ_HEADER = ["Symbol", "Security Name", "Market Category", "Test Issue", "Financial Status",
                 "Round Lot Size", "ETF", "NextShares"]
OTHER_HEADER = ["ACT Symbol", "Security Name", "Exchange", "CQS Symbol", "ETF", "Round Lot Size",
                "Test Issue", "NASDAQ Symbol"]
# otherlisted.txt exchange codes -> the exchange names the app uses
OTHER_EXCHANGES = {"A": "NYSEAMERICAN", "N": "NYSE", "P": "NYSEARCA", "Z": "BATS", "V": "IEX"}
NAME_SUFFIXES = (" - Common Stock", " Common Stock", " - Common Shares", " Common Shares", " - Ordinary Shares",
                 " Ordinary Shares")
MAX_BYTES = 5 * 1024 * 1024


@dataclass
class Listing:
    symbol: str
    name: str
    exchange: str
    etf: bool
    test_issue: bool


@dataclass
class ParsedFile:
    kind: str  # "nasdaq" or "other"
    created: str
    listings: list[Listing]
    skipped: list[str] = field(default_factory=list)  # symbols the app cannot hold (e.g. ABR$D)

    @property
    def exchanges(self) -> set[str]:
        """The exchanges this file is complete for (where missing symbols are delisted)."""
        return {"NASDAQ"} if self.kind == "nasdaq" else set(OTHER_EXCHANGES.values()) | {"AMEX"}


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    test_issues: int = 0
    etfs: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.reactivated)} reactivated, "
                f"{len(self.deactivated)} deactivated; {self.etfs} ETFs, {self.test_issues} test issues, "
                f"{len(self.skipped)} symbols skipped")


def _clean_name(name: str) -> str:
    name = name.strip()
    for suffix in NAME_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)].strip()[:200]
    return name[:200]


def parse(text: str) -> ParsedFile:
    """Parse one file; :class:`InvalidInput` says what is wrong with it."""
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    if not lines:
        raise InvalidInput("The file is empty.")
    header = [h.strip() for h in lines[0].split("|")]
    if header[: len(NASDAQ_HEADER)] == NASDAQ_HEADER:
        kind = "nasdaq"
    elif header[: len(OTHER_HEADER)] == OTHER_HEADER:
        kind = "other"
    else:
        raise InvalidInput("Not a NASDAQ Trader symbol file: the first line must be the header of "
                           "nasdaqlisted.txt (Symbol|Security Name|...) or otherlisted.txt (ACT Symbol|...).")
    if not lines[-1].startswith("File Creation Time"):
        raise InvalidInput("The \"File Creation Time\" trailer is missing: the file looks truncated, "
                           "so nothing was imported.")
    created = lines[-1].split("|", 1)[0].split(":", 1)[1].strip()
    out = ParsedFile(kind, created, [])
    reader = csv.reader(io.StringIO("\n".join(lines[1:-1])), delimiter="|", quoting=csv.QUOTE_NONE)
    for n, row in enumerate(reader, start=2):
        if len(row) < len(header):
            raise InvalidInput(f"Line {n}: expected {len(header)} fields, found {len(row)}.")
        r = dict(zip(header, (c.strip() for c in row), strict=False))
        if kind == "nasdaq":
            sym, exchange = r["Symbol"], "NASDAQ"
        else:
            sym, exchange = r["ACT Symbol"], OTHER_EXCHANGES.get(r["Exchange"], r["Exchange"][:20] or "US")
        sym = sym.upper()
        if not SYMBOL_RE.match(sym):
            out.skipped.append(sym)
            continue
        out.listings.append(Listing(sym, _clean_name(r["Security Name"]) or sym, exchange,
                                    r["ETF"] == "Y", r["Test Issue"] == "Y"))
    return out


def apply(parsed: ParsedFile) -> ImportResult:
    """Upsert the file's listings and deactivate its exchanges' missing symbols."""
    now = utcnow()
    res = ImportResult(skipped=list(parsed.skipped))
    existing = {s.symbol: s for s in db.session.scalars(select(Stock))}
    seen = set()
    for item in parsed.listings:
        seen.add(item.symbol)
        res.etfs += item.etf
        res.test_issues += item.test_issue
        asset_type = "etf" if item.etf else "stock"
        stock = existing.get(item.symbol)
        if stock is None:
            db.session.add(Stock(symbol=item.symbol, name=item.name, exchange=item.exchange, asset_type=asset_type,
                                 test_issue=item.test_issue, active=not item.test_issue,
                                 industry="Exchange Traded Fund" if item.etf else None))
            res.added.append(item.symbol)
            continue
        if (stock.name, stock.exchange, stock.asset_type, bool(stock.test_issue)) != (
                item.name, item.exchange, asset_type if stock.asset_type != "index" else "index", item.test_issue):
            stock.name, stock.exchange, stock.test_issue = item.name, item.exchange, item.test_issue
            if stock.asset_type != "index":
                stock.asset_type = asset_type
            res.updated.append(item.symbol)
        if item.test_issue:
            stock.active = False
        elif not stock.active:
            stock.active, stock.delisted_at = True, None
            res.reactivated.append(item.symbol)
    for sym, stock in existing.items():
        if sym not in seen and stock.active and stock.exchange in parsed.exchanges:
            stock.active, stock.delisted_at = False, now
            res.deactivated.append(sym)
    db.session.commit()
    return res


def import_text(text: str) -> tuple[ParsedFile, ImportResult]:
    parsed = parse(text)
    return parsed, apply(parsed)


def import_bytes(data: bytes) -> tuple[ParsedFile, ImportResult]:
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("The file is not UTF-8 text.") from None
    return import_text(text)
