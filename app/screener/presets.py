"""The preset screens of PRODUCT.md section 2 (each one a plain screen definition)."""
from __future__ import annotations

from dataclasses import dataclass

from app.screener.definition import ScreenDefinition

#: stock presets screen stocks only by default (a visible filter the person can remove):
#: an ETF gapping with the market is not what "gap up" is for
STOCKS_ONLY = "type:eq:stock"


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    description: str
    args: dict

    @property
    def definition(self) -> ScreenDefinition:
        return ScreenDefinition.parse({k: v if isinstance(v, list) else [v] for k, v in self.args.items()})


PRESETS: tuple[Preset, ...] = (
    Preset("top-gainers", "Top gainers", "Biggest rise since the previous close",
           {"f": ["change_pct:gt:0", STOCKS_ONLY], "sort": "change_pct", "dir": "desc"}),
    Preset("top-losers", "Top losers", "Biggest fall since the previous close",
           {"f": ["change_pct:lt:0", STOCKS_ONLY], "sort": "change_pct", "dir": "asc"}),
    Preset("most-active", "Most active", "Highest volume today",
           {"f": ["volume:gt:0", STOCKS_ONLY], "sort": "volume", "dir": "desc"}),
    Preset("unusual-volume", "Unusual volume", "Relative volume of 3 or more",
           {"f": ["rel_volume:gte:3", STOCKS_ONLY], "sort": "rel_volume", "dir": "desc"}),
    Preset("new-highs", "New 52-week highs", "Trading at (or above) the 52-week high",
           {"f": ["from_high:gte:0", STOCKS_ONLY], "sort": "change_pct", "dir": "desc"}),
    Preset("new-lows", "New 52-week lows", "Trading at (or below) the 52-week low",
           {"f": ["from_low:lte:0", STOCKS_ONLY], "sort": "change_pct", "dir": "asc"}),
    Preset("rsi-oversold", "RSI oversold", "RSI (14) under 30",
           {"f": ["rsi:lt:30", STOCKS_ONLY], "sort": "rsi", "dir": "asc", "cols": "price,change_pct,rsi,volume,market_cap,sector"}),
    Preset("rsi-overbought", "RSI overbought", "RSI (14) over 70",
           {"f": ["rsi:gt:70", STOCKS_ONLY], "sort": "rsi", "dir": "desc", "cols": "price,change_pct,rsi,volume,market_cap,sector"}),
    Preset("golden-cross", "Golden cross", "SMA 50 crossed above SMA 200 in the last 10 sessions",
           {"f": ["sma50_vs_sma200:gt:0", STOCKS_ONLY], "q": "lowest(sma(close, 50) - sma(close, 200), 10) < 0",
            "sort": "change_pct", "dir": "desc",
            "cols": "name,price,change_pct,sma50_vs_sma200,price_vs_sma200,volume,market_cap"}),
    Preset("death-cross", "Death cross", "SMA 50 crossed below SMA 200 in the last 10 sessions",
           {"f": ["sma50_vs_sma200:lt:0", STOCKS_ONLY], "q": "highest(sma(close, 50) - sma(close, 200), 10) > 0",
            "sort": "change_pct", "dir": "asc",
            "cols": "name,price,change_pct,sma50_vs_sma200,price_vs_sma200,volume,market_cap"}),
    Preset("gap-up", "Gap up", "Opened 4 % or more above the previous close",
           {"f": ["gap_pct:gte:4", STOCKS_ONLY], "sort": "gap_pct", "dir": "desc",
            "cols": "name,price,change_pct,gap_pct,volume,rel_volume,market_cap"}),
    Preset("gap-down", "Gap down", "Opened 4 % or more below the previous close",
           {"f": ["gap_pct:lte:-4", STOCKS_ONLY], "sort": "gap_pct", "dir": "asc",
            "cols": "name,price,change_pct,gap_pct,volume,rel_volume,market_cap"}),
    Preset("above-sma200", "Above SMA 200", "Price above its 200-day moving average",
           {"f": ["price_vs_sma200:gt:0", STOCKS_ONLY], "sort": "market_cap", "dir": "desc",
            "cols": "name,price,change_pct,price_vs_sma200,volume,market_cap,sector"}),
)
PRESETS_BY_KEY = {p.key: p for p in PRESETS}
