"""The offline universe seed: every US-listed stock ``pytickersymbols`` ships.

A stock is US-listed when one of its listings is quoted in USD on a US exchange (a Yahoo
ticker without an exchange suffix, and a Google ticker on NYSE/NASDAQ or without a
venue prefix; OTC quotes of foreign shares are not listings). The symbol is that US ticker in its dotted form
(``BRK.B``); the exchange comes from the Google ticker (``NYSE:BRK.B``) or the
"traded as" note; sector is the first industry entry, industry the most specific one.
Symbols are upper case, at most 10 characters, unique.
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
def seed_universe() -> tuple[dict, ...]:
    """Rows ``{symbol, name, exchange, sector, industry}``, sorted by symbol."""
    from pytickersymbols import PyTickerSymbols

    out: dict[str, dict] = {}
    for stock in PyTickerSymbols().get_all_stocks():
        for listing in stock.get("symbols") or []:
            sym = _us_ticker(listing)
            if not sym or not SYMBOL_RE.match(sym) or sym in out:
                continue
            inds = [i for i in (stock.get("industries") or []) if i]
            out[sym] = {
                "symbol": sym,
                "name": (stock.get("name") or sym).strip()[:200],
                "exchange": _exchange(stock, listing),
                "sector": inds[0][:100] if inds else None,
                "industry": inds[-1][:100] if inds else None,
            }
            break
    return tuple(out[k] for k in sorted(out))
