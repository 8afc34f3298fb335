"""Which rule-language function explains a screener quantity or a stock-page indicator, so
templates can put the "?" help link next to it (``field_help`` in templates/learn/_help.html).

The map is keyed by the screener's filter/column keys (app/screener/definition.py); a key not
listed (price, sector...) is plain data with nothing to explain, and gets no link."""
from __future__ import annotations

from app.learn import bp
from app.rules.functions import FUNCTIONS

FIELD_FUNCTIONS: dict[str, str] = {
    "rsi": "rsi",
    "price_vs_sma20": "sma", "price_vs_sma50": "sma", "price_vs_sma200": "sma", "sma50_vs_sma200": "sma",
    "atr_pct": "atr",
    "from_high": "highest", "from_low": "lowest",
    "avg_volume": "avg",
}
assert set(FIELD_FUNCTIONS.values()) <= set(FUNCTIONS), "every mapped help page must exist"


@bp.app_template_global()
def indicator_for(key: str | None) -> str | None:
    """The function whose explanation page covers the screener field ``key`` (or None)."""
    return FIELD_FUNCTIONS.get(key or "")
