"""The offline universe seed: every US-listed stock ``pytickersymbols`` ships, plus the
broad-market and sector ETFs (:mod:`app.market.instruments`).

A stock is US-listed when one of its listings is quoted in USD on a US exchange (a Yahoo
ticker without an exchange suffix, and a Google ticker on NYSE/NASDAQ or without a
venue prefix; OTC quotes of foreign shares are not listings). The symbol is that US ticker in its dotted form
(``BRK.B``); the exchange comes from the Google ticker (``NYSE:BRK.B``) or the
"traded as" note; sector is one of the 11 GICS sectors (:mod:`app.market.sectors`), industry the
most specific free-text label. Symbols are upper case, at most 10 characters, unique.
"""
from __future__ import annotations

import re
from functools import lru_cache

US_EXCHANGES = {"NYSE", "NASDAQ", "NYSEAMERICAN", "NYSEARCA", "BATS", "AMEX", "OTC"}
SYMBOL_RE = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")


def _us_ticker(listing: dict) -> str | None:
    """The US ticker of an exchange listing (OTC quotes are not listings)."""
    yahoo = (listing.get("yahoo") or "").upper()
    if listing.get("currency") != "USD" or not yahoo or "." in yahoo or "=" in yahoo or "^" in yahoo:
        return None
    google = (listing.get("google") or "").upper()
    if ":" in google and google.split(":", 1)[0] not in US_EXCHANGES - {"OTC"}:
        return None
    return yahoo.replace("-", ".")


def _exchange(stock: dict, listing: dict) -> str:
    google = (listing.get("google") or "")
    if ":" in google:
        ex = google.split(":", 1)[0].upper()
        if ex in US_EXCHANGES:
            return ex
    traded = (stock.get("metadata") or {}).get("traded_as") or ""
    m = re.search(r"\b(NYSE American|NYSE Arca|NYSE|Nasdaq|NASDAQ)\b", traded)
    if m:
        return m.group(1).upper().replace(" ", "")
    return "US"


@lru_cache(maxsize=1)
def _raw_seed() -> tuple[dict, ...]:
    """Every US stock of pytickersymbols: ``{symbol, name, exchange, labels, indices}``."""
    from pytickersymbols import PyTickerSymbols

    p = PyTickerSymbols()
    members: dict[str, set[str]] = {}
    for index in p.get_all_indices():
        for stock in p.get_stocks_by_index(index):
            members.setdefault(stock.get("name") or "", set()).add(index)
    out: dict[str, dict] = {}
    for stock in p.get_all_stocks():
        for listing in stock.get("symbols") or []:
            sym = _us_ticker(listing)
            if not sym or not SYMBOL_RE.match(sym) or sym in out:
                continue
            out[sym] = {
                "symbol": sym,
                "name": (stock.get("name") or sym).strip()[:200],
                "exchange": _exchange(stock, listing),
                "labels": tuple(i for i in (stock.get("industries") or []) if i),
                "indices": tuple(sorted(members.get(stock.get("name") or "", ()))),
            }
            break
    return tuple(out[k] for k in sorted(out))


@lru_cache(maxsize=1)
def seed_universe() -> tuple[dict, ...]:
    """Rows ``{symbol, name, exchange, sector, industry, asset_type}`` (stocks then the
    ETFs), sorted by symbol."""
    from app.market.instruments import ETFS, etf_rows
    from app.market.sectors import classify

    rows = []
    for r in _raw_seed():
        if r["symbol"] in ETFS:
            continue
        sector, industry = classify(list(r["labels"]), r["symbol"])
        rows.append({"symbol": r["symbol"], "name": r["name"], "exchange": r["exchange"],
                     "sector": sector, "industry": industry, "asset_type": "stock"})
    rows += etf_rows()
    return tuple(sorted(rows, key=lambda r: r["symbol"]))


@lru_cache(maxsize=1)
def profiles() -> dict[str, tuple[tuple[str, ...], str | None]]:
    """``symbol -> (indices, GICS sector)`` of the seed's stocks: what the simulated
    market draws its prices, share counts and factor exposures from."""
    from app.market.sectors import classify

    return {r["symbol"]: (r["indices"], classify(list(r["labels"]), r["symbol"])[0]) for r in _raw_seed()}
