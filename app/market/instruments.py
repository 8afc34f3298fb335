"""The instruments every universe has besides stocks: the broad-market and sector ETFs,
and the 11 GICS sectors they (and every stock) are classified in.

The simulated provider builds these ETFs from the factor exposures of their
constituents (:mod:`app.market.providers.simulated`); the strategies use them as
benchmarks (SPY by default).
"""
from __future__ import annotations

from dataclasses import dataclass

ASSET_TYPES = ("stock", "etf", "index")

GICS_SECTORS = (
    "Communication Services", "Consumer Discretionary", "Consumer Staples", "Energy", "Financials",
    "Health Care", "Industrials", "Information Technology", "Materials", "Real Estate", "Utilities",
)
SECTOR_INDEX = {s: i for i, s in enumerate(GICS_SECTORS)}


@dataclass(frozen=True)
class Etf:
    symbol: str
    name: str
    #: the pytickersymbols index whose members are the constituents
    index: str
    #: only the members in this GICS sector (sector SPDRs)
    sector: str | None = None
    exchange: str = "NYSEARCA"


BROAD_ETFS = (
    Etf("SPY", "SPDR S&P 500 ETF Trust", "S&P 500"),
    Etf("QQQ", "Invesco QQQ Trust", "NASDAQ 100", exchange="NASDAQ"),
    # the seed's small-cap list is the S&P 600; IWM tracks the Russell 2000, the same segment
    Etf("IWM", "iShares Russell 2000 ETF", "S&P 600"),
    Etf("DIA", "SPDR Dow Jones Industrial Average ETF Trust", "DOW JONES"),
)
SECTOR_ETFS = (
    Etf("XLC", "Communication Services Select Sector SPDR Fund", "S&P 500", "Communication Services"),
    Etf("XLY", "Consumer Discretionary Select Sector SPDR Fund", "S&P 500", "Consumer Discretionary"),
    Etf("XLP", "Consumer Staples Select Sector SPDR Fund", "S&P 500", "Consumer Staples"),
    Etf("XLE", "Energy Select Sector SPDR Fund", "S&P 500", "Energy"),
    Etf("XLF", "Financial Select Sector SPDR Fund", "S&P 500", "Financials"),
    Etf("XLV", "Health Care Select Sector SPDR Fund", "S&P 500", "Health Care"),
    Etf("XLI", "Industrial Select Sector SPDR Fund", "S&P 500", "Industrials"),
    Etf("XLK", "Technology Select Sector SPDR Fund", "S&P 500", "Information Technology"),
    Etf("XLB", "Materials Select Sector SPDR Fund", "S&P 500", "Materials"),
    Etf("XLRE", "Real Estate Select Sector SPDR Fund", "S&P 500", "Real Estate"),
    Etf("XLU", "Utilities Select Sector SPDR Fund", "S&P 500", "Utilities"),
)
ETFS = {e.symbol: e for e in BROAD_ETFS + SECTOR_ETFS}
SECTOR_ETF = {e.sector: e.symbol for e in SECTOR_ETFS}

#: what the market strip shows, in order
STRIP_SYMBOLS = ("SPY", "QQQ", "IWM", "DIA")
#: benchmarks a strategy can choose ("sector" = the sector ETF of its universe)
BENCHMARKS = ("SPY", "QQQ", "IWM", "sector")
DEFAULT_BENCHMARK = "SPY"


def etf_rows() -> list[dict]:
    """Universe rows for the ETFs (the seed adds them to the stocks)."""
    return [{"symbol": e.symbol, "name": e.name, "exchange": e.exchange, "sector": e.sector,
             "industry": "Exchange Traded Fund", "asset_type": "etf"} for e in ETFS.values()]
