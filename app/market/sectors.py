"""Clean sectors: pytickersymbols' free-text industries mapped to the 11 GICS sectors.

The mapping is a table shipped with the app (``app/market/data/gics_map.csv``: one
free-text label per line and its GICS sector). A stock's sector is the sector of its
first label that names a sector outright (``Health Care``, ``Healthcare``, ...), else of
its first mapped label; its industry is its most specific (last) label. Labels that are
not in the table are reported by ``flask market sectors --check``.

:func:`suggest` holds the keyword rules the table was generated from; ``flask market
sectors --write`` regenerates the table for new labels (existing lines are kept, so a
hand correction in the file survives).
"""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

from app.market.instruments import GICS_SECTORS

TABLE = Path(__file__).parent / "data" / "gics_map.csv"
#: companies whose free-text labels predate a GICS reclassification (e.g. the 2018 move of
#: the internet platforms to Communication Services): ``symbol -> sector``
OVERRIDES = Path(__file__).parent / "data" / "gics_overrides.csv"

#: labels that are a sector's own name in another spelling
ALIASES = {
    "health care": "Health Care", "healthcare": "Health Care", "information technology": "Information Technology",
    "technology": "Information Technology", "financials": "Financials", "financial services": "Financials",
    "consumer discretionary": "Consumer Discretionary", "consumer cyclicals": "Consumer Discretionary",
    "consumer cyclical": "Consumer Discretionary", "consumer staples": "Consumer Staples",
    "consumer non-cyclicals": "Consumer Staples", "communication services": "Communication Services",
    "energy": "Energy", "industrials": "Industrials", "materials": "Materials", "basic materials": "Materials",
    "real estate": "Real Estate", "utilities": "Utilities",
}

# (sector, pattern) in priority order: the first pattern found in a label decides
_RULES: tuple[tuple[str, str], ...] = (
    ("Real Estate", r"reit|real estate|property|apartments|retis"),
    ("Consumer Staples", r"drug retail|food & drug|grocery|pharmacy|consumer staples merchandise"),
    ("Utilities", r"utilit|electricity|electric power|power generation|renewable electricity|water industry|"
                  r"water infrastructure|electric & gas|natural gas production|^natural gas$"),
    ("Health Care", r"health|pharma|biotech|medical|life sciences|ophthalm|orthodont|dental|diagnost|biopharm|"
                    r"clinical|contract research|animal health|genomic"),
    ("Financials", r"bank|financ|insur|invest|asset management|payment|credit|exchange|brokerage|mortgage|"
                   r"cryptocurrency|private equity|bitcoin|securities|debt|fund|lending"),
    ("Consumer Discretionary", r"automo|auto |auto,|^auto|car deal|used car|motor vehicle|vehicles, parts|"
                               r"truck manufactur|motorcycle"),
    ("Energy", r"oil|gas\b|petroleum|energy|coal|fossil|hydrocarbon|ölfeld|photovoltaic|solar"),
    ("Communication Services", r"telecom|media|broadcast|cable|interactive|social|advertising|publishing|"
                               r"entertainment|movies|video games|wireless|satellite|online dating|internet content|"
                               r"music|local search|pay television|alternative carriers"),
    ("Consumer Discretionary", r"retail|apparel|cloth|fashion|footwear|hotel|restaurant|leisure|travel|tourism|"
                               r"hospitality|casino|gambling|gaming|home improvement|homebuild|home construction|"
                               r"home building|furniture|toys|discretionary|cyclical|department|discount|e-commerce|"
                               r"education|lodging|sports|textile|luxury|accessories|consumer electronics|"
                               r"home appliances|haushalts|online food|food delivery|specialized consumer|"
                               r"franchising|swimming|amusement|garments|beauty|children|eatertainment|"
                               r"specialty stores|freelance|legal services|stock photography|surplus asset|dating"),
    ("Information Technology", r"software|semiconductor|computer|technolog|electronic|cloud|cyber|security|data|"
                               r"network|saas|\biot\b|internet|hardware|storage|digital|phones|integrated circuit|"
                               r"analytics|test & automation|rfid|\bit\b|edp|high tech|plm|cad|information|"
                               r"identity|system monitoring|mobile|virtual reality|customer experience|"
                               r"surveillance|b2b|communications equipment|communications & networking|"
                               r"^communications$|scientific instruments"),
    ("Consumer Staples", r"food|beverage|drink|brew|distill|tobacco|household|personal|cosmetic|staples|"
                         r"non-cyclical|supermarket|confection|snack|soft drink|pet food|consumer goods|"
                         r"consumer products|agricultur|processed|wholesale"),
    ("Materials", r"chemical|material|metal|mining|steel|alumin|gold|paper|packaging|container|forest|"
                  r"fertilizer|glass|coatings|mineral|colors|flavors"),
    ("Industrials", r"industr|aerospace|defen|machinery|construction|engineering|transport|freight|logistic|"
                    r"airline|rail|trucking|shipping|courier|conglomerate|electrical|building products|"
                    r"employment|professional|commercial services|support services|waste|environmental|hvac|"
                    r"manufactur|aviation|marine|heavy|tools|business|outsourcing|consulting|trading compan|"
                    r"distribut|rental|leasing|prison|facilit|office|pest|ordnance|arms|shipbuilding|"
                    r"public safety|geospatial|human resource|equipment|services|service|applied resources|"
                    r"credit risk|burglary|security systems|water|transport systems|capital goods"),
)
_COMPILED = tuple((s, re.compile(p)) for s, p in _RULES)


def suggest(label: str) -> str | None:
    """The GICS sector the keyword rules give ``label`` (None when no rule matches)."""
    low = label.strip().lower()
    if low in ALIASES:
        return ALIASES[low]
    for sector, rx in _COMPILED:
        if rx.search(low):
            return sector
    return None


@lru_cache(maxsize=1)
def table() -> dict[str, str]:
    """The shipped mapping ``label -> GICS sector``."""
    if not TABLE.exists():
        return {}
    with TABLE.open(newline="", encoding="utf-8") as fh:
        return {r["label"]: r["sector"] for r in csv.DictReader(fh) if r["sector"] in GICS_SECTORS}


@lru_cache(maxsize=1)
def overrides() -> dict[str, str]:
    if not OVERRIDES.exists():
        return {}
    with OVERRIDES.open(newline="", encoding="utf-8") as fh:
        return {r["symbol"]: r["sector"] for r in csv.DictReader(fh) if r["sector"] in GICS_SECTORS}


def classify(labels: list[str], symbol: str | None = None) -> tuple[str | None, str | None]:
    """``(sector, industry)`` for a stock's free-text industry labels."""
    labels = [x.strip() for x in labels if x and x.strip()]
    if not labels:
        return overrides().get(symbol or ""), None
    mapping = table()
    direct = [ALIASES[x.lower()] for x in labels if x.lower() in ALIASES]
    mapped = [mapping[x] for x in labels if x in mapping]
    # REITs are Real Estate even when listed under "Financials" (GICS since 2016)
    if "Real Estate" in mapped:
        direct = ["Real Estate"]
    sector = overrides().get(symbol or "") or (direct or mapped or [None])[0]
    return sector, labels[-1][:100]


def unmapped(labels: list[str]) -> list[str]:
    """The labels of ``labels`` missing from the shipped table."""
    mapping = table()
    return sorted({x.strip() for x in labels if x and x.strip() and x.strip() not in mapping
                   and x.strip().lower() not in ALIASES})


def write_table(labels: list[str]) -> int:
    """Add the rule-suggested sector of every new label to the table (kept lines stay)."""
    current = dict(table())
    added = 0
    for label in sorted({x.strip() for x in labels if x and x.strip()}):
        if label not in current and (sec := suggest(label)):
            current[label] = sec
            added += 1
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    with TABLE.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["label", "sector"])
        for label in sorted(current):
            w.writerow([label, current[label]])
    table.cache_clear()
    return added
