"""Market data providers behind one interface (see :mod:`.base`)."""
from __future__ import annotations

from app.market.providers.base import (  # noqa: F401
    BarBatch,
    Provider,
    ProviderError,
    QuoteBatch,
)

NAMES = ("simulated", "yahoo", "stooq", "csv")


def get_provider(name: str, *, seed: int = 42, csv_dir: str | None = None,
                 always_open: bool = False, proxy: str | None = None) -> Provider:
    """Build the provider called ``name`` (the ``MARKET_DATA_PROVIDER`` setting)."""
    name = (name or "simulated").lower()
    if name == "simulated":
        from app.market.providers.simulated import SimulatedProvider
        return SimulatedProvider(seed=seed, always_open=always_open)
    if name == "yahoo":
        from app.market.providers.yahoo import YahooProvider
        return YahooProvider(proxy=proxy)
    if name == "stooq":
        from app.market.providers.stooq import StooqProvider
        return StooqProvider(proxy=proxy)
    if name == "csv":
        from app.market.providers.csvdir import CsvProvider
        return CsvProvider(csv_dir or "")
    raise ValueError(f"unknown MARKET_DATA_PROVIDER {name!r}; choose one of {', '.join(NAMES)}")
