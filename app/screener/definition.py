"""The screen definition: one validated object (filters + formula + sort + columns + scope)
that round-trips through the URL and the saved-screen row.

URL form (what the address bar shows, so a screen can be bookmarked and shared)::

    /screener?f=price:gt:10&f=sector:in:Technology|Energy&f=rsi:between:30|50
             &q=close > sma(close, 50)&sort=change_pct&dir=desc&cols=symbol,price,...
             &per=50&wl=3&page=2

* ``f`` -- one filter: ``field:op:value``; ``between`` and ``in`` take ``|``-separated values
  (the HTML form's parallel ``f_field``/``f_op``/``f_val`` inputs are accepted too, with
  ``,`` as a separator when there is no ``|``);
* ``q`` -- a rule-language condition (evaluated cross-section on what the filters left);
* ``sort``/``dir`` -- a column key and ``asc``/``desc``; ``cols`` -- the columns shown;
* ``per`` -- rows per page (<= 100); ``wl`` -- "only my watchlist" scope (an owned list id).

:meth:`ScreenDefinition.parse` never raises: it returns the valid definition and a dict of
field messages (``filter-<i>``, ``q``, ``sort``, ``cols``, ``per``, ``wl``).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from app.errors import parse_id

NUMBER, TEXT = "number", "text"

NUMERIC_OPS = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "eq": "=", "between": "between"}
TEXT_OPS = {"eq": "equals", "in": "is one of"}
RULE_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=="}
MAX_FILTERS = 20
MAX_PAGE_SIZE = 100
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
MAX_FORMULA = 1000


@dataclass(frozen=True)
class FilterSpec:
    """A filterable quantity. ``rule`` is the same quantity in the rule language (the
    formula path), ``unit`` shown beside the value."""

    key: str
    label: str
    kind: str
    rule: str
    unit: str = ""
    help: str = ""


FILTER_SPECS: tuple[FilterSpec, ...] = (
    FilterSpec("price", "Price", NUMBER, "price", "$"),
    FilterSpec("change_pct", "Change", NUMBER, "change_pct", "%"),
    FilterSpec("volume", "Volume", NUMBER, "volume", "shares"),
    FilterSpec("avg_volume", "Average volume (3M)", NUMBER, "avg_volume", "shares"),
    FilterSpec("rel_volume", "Relative volume", NUMBER, "rel_volume", "×"),
    FilterSpec("market_cap", "Market cap", NUMBER, "market_cap", "$", "e.g. 2B, 300M"),
    FilterSpec("sector", "Sector", TEXT, "sector"),
    FilterSpec("industry", "Industry", TEXT, "industry"),
    FilterSpec("exchange", "Exchange", TEXT, "exchange"),
    FilterSpec("type", "Type", TEXT, "asset_type", "", "stock, etf or index"),
    FilterSpec("rsi", "RSI (14)", NUMBER, "rsi14"),
    FilterSpec("price_vs_sma20", "Price vs SMA 20", NUMBER, "(price / sma20 - 1) * 100", "%", "> 0: above"),
    FilterSpec("price_vs_sma50", "Price vs SMA 50", NUMBER, "(price / sma50 - 1) * 100", "%", "> 0: above"),
    FilterSpec("price_vs_sma200", "Price vs SMA 200", NUMBER, "(price / sma200 - 1) * 100", "%", "> 0: above"),
    FilterSpec("sma50_vs_sma200", "SMA 50 vs SMA 200", NUMBER, "(sma50 / sma200 - 1) * 100", "%",
               "> 0: golden cross side, < 0: death cross side"),
    FilterSpec("from_high", "From 52-week high", NUMBER, "(price / week52_high - 1) * 100", "%",
               "0 = at the high"),
    FilterSpec("from_low", "From 52-week low", NUMBER, "(price / week52_low - 1) * 100", "%",
               "0 = at the low"),
    FilterSpec("gap_pct", "Gap", NUMBER, "gap_pct", "%"),
    FilterSpec("atr_pct", "ATR % of price", NUMBER, "atr14 / price * 100", "%"),
)
FILTERS: dict[str, FilterSpec] = {f.key: f for f in FILTER_SPECS}


@dataclass(frozen=True)
class ColumnSpec:
    key: str
    label: str
    fmt: str  # symbol | text | price | change | abbrev | num | pct
    numeric: bool = True


COLUMN_SPECS: tuple[ColumnSpec, ...] = (
    ColumnSpec("symbol", "Symbol", "symbol", False),
    ColumnSpec("name", "Name", "text", False),
    ColumnSpec("price", "Price", "price"),
    ColumnSpec("change", "Change", "signed"),
    ColumnSpec("change_pct", "Change %", "change"),
    ColumnSpec("volume", "Volume", "abbrev"),
    ColumnSpec("avg_volume", "Avg volume", "abbrev"),
    ColumnSpec("rel_volume", "Rel volume", "num"),
    ColumnSpec("market_cap", "Market cap", "abbrev"),
    ColumnSpec("rsi", "RSI", "num"),
    ColumnSpec("sector", "Sector", "text", False),
    ColumnSpec("industry", "Industry", "text", False),
    ColumnSpec("exchange", "Exchange", "text", False),
    ColumnSpec("type", "Type", "text", False),
    ColumnSpec("gap_pct", "Gap %", "change"),
    ColumnSpec("atr_pct", "ATR %", "num"),
    ColumnSpec("price_vs_sma50", "vs SMA 50", "change"),
    ColumnSpec("price_vs_sma200", "vs SMA 200", "change"),
    ColumnSpec("sma50_vs_sma200", "SMA 50/200", "change"),
    ColumnSpec("from_high", "From 52W high", "change"),
    ColumnSpec("from_low", "From 52W low", "change"),
)
COLUMNS: dict[str, ColumnSpec] = {c.key: c for c in COLUMN_SPECS}
DEFAULT_COLUMNS = ("symbol", "name", "price", "change_pct", "volume", "rel_volume", "market_cap", "rsi", "sector")
DEFAULT_SORT = ("market_cap", "desc")

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_NUM = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*([kmbt])?\s*%?$", re.I)


def parse_number(text: str) -> float:
    """``10``, ``-2.5``, ``1.2B``, ``300m``, ``4%``, ``1,000`` -> float (ValueError otherwise)."""
    s = (text or "").strip().replace(",", "").replace("$", "").replace("_", "")
    m = _NUM.match(s)
    if not m:
        raise ValueError(text)
    v = float(m.group(1)) * _SUFFIX.get((m.group(2) or "").lower(), 1.0)
    if not math.isfinite(v):
        raise ValueError(text)
    return v


def fmt_number(v: float) -> str:
    """The shortest exact text for a value (URL and form)."""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    values: tuple  # floats for numbers, strings for text

    @property
    def spec(self) -> FilterSpec:
        return FILTERS[self.field]

    def value_text(self) -> str:
        """The value as typed in the form."""
        sep = ", " if self.op == "between" else " | "
        return sep.join(fmt_number(v) if isinstance(v, float) else v for v in self.values)

    def token(self) -> str:
        """``field:op:value`` for the URL."""
        vals = "|".join(fmt_number(v) if isinstance(v, float) else v for v in self.values)
        return f"{self.field}:{self.op}:{vals}"

    def to_rule(self) -> str:
        """The same filter in the rule language (the formula path)."""
        expr = self.spec.rule
        if self.spec.kind == TEXT:
            quoted = ", ".join(_rule_string(v) for v in self.values)
            return f"{expr} in ({quoted})" if self.op == "in" else f"{expr} == {_rule_string(self.values[0])}"
        left = f"({expr})" if " " in expr else expr
        if self.op == "between":
            lo, hi = self.values
            return f"({left} >= {fmt_number(lo)} and {left} <= {fmt_number(hi)})"
        return f"{left} {RULE_OPS[self.op]} {fmt_number(self.values[0])}"

    def describe(self) -> str:
        spec = self.spec
        ops = TEXT_OPS if spec.kind == TEXT else NUMERIC_OPS
        return f"{spec.label} {ops[self.op]} {self.value_text()}{' ' + spec.unit if spec.unit in ('%',) else ''}"


def _rule_string(v: str) -> str:
    return '"' + v.replace('"', "") + '"'


def make_filter(field_key: str, op: str, raw: str | Iterable) -> Filter:
    """Build one filter; ValueError with a message for the person when it is invalid."""
    spec = FILTERS.get((field_key or "").strip())
    if spec is None:
        raise ValueError("Choose what to filter on.")
    op = (op or "").strip()
    if isinstance(raw, str):
        text = raw.strip()
        parts = [p.strip() for p in (text.split("|") if "|" in text else text.split(","))]
        parts = [p for p in parts if p]
    else:
        parts = [str(p).strip() for p in raw if str(p).strip()]
    if spec.kind == TEXT:
        if op not in TEXT_OPS:
            raise ValueError(f"{spec.label}: use “equals” or “is one of”.")
        if not parts:
            raise ValueError(f"{spec.label}: enter a value.")
        if any(len(p) > 100 for p in parts) or len(parts) > 50:
            raise ValueError(f"{spec.label}: values are too long.")
        if op == "eq" and len(parts) > 1:
            op = "in"
        return Filter(spec.key, op, tuple(parts))
    if op not in NUMERIC_OPS:
        raise ValueError(f"{spec.label}: choose an operator.")
    if op == "between" and len(parts) == 1 and re.match(r"^\s*\S+\s*(?:\.\.|to)\s*\S+\s*$", parts[0]):
        parts = [p.strip() for p in re.split(r"\.\.|to", parts[0])]
    want = 2 if op == "between" else 1
    if len(parts) != want:
        raise ValueError(f"{spec.label}: enter {'two numbers, low and high' if want == 2 else 'a number'}.")
    try:
        nums = tuple(parse_number(p) for p in parts)
    except ValueError:
        raise ValueError(f"{spec.label}: “{', '.join(parts)}” is not a number.") from None
    if op == "between" and nums[0] > nums[1]:
        nums = (nums[1], nums[0])
    return Filter(spec.key, op, nums)


@dataclass(frozen=True)
class ScreenDefinition:
    filters: tuple[Filter, ...] = ()
    formula: str = ""
    sort: str = DEFAULT_SORT[0]
    direction: str = DEFAULT_SORT[1]
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    page_size: int = DEFAULT_PAGE_SIZE
    watchlist_id: int | None = None
    errors: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    # ------------------------------------------------------------------ reading
    @classmethod
    def parse(cls, args) -> ScreenDefinition:
        """From request args (a MultiDict or a mapping of lists). Invalid parts are left out
        and described in ``errors``; never raises."""
        getlist = args.getlist if hasattr(args, "getlist") else (
            lambda k: list(args.get(k, ())) if isinstance(args.get(k), list | tuple) else
            ([args[k]] if k in args else []))

        def get(k, default=""):
            got = getlist(k)
            return got[0] if got else default

        errors: dict[str, str] = {}
        filters: list[Filter] = []
        raw: list[tuple[str, str, str]] = []
        for token in getlist("f"):
            bits = str(token).split(":", 2)
            raw.append(tuple(bits + [""] * (3 - len(bits))))  # type: ignore[arg-type]
        fields_, ops, vals = getlist("f_field"), getlist("f_op"), getlist("f_val")
        for i, fk in enumerate(fields_):
            raw.append((fk, ops[i] if i < len(ops) else "", vals[i] if i < len(vals) else ""))
        for i, (fk, op, val) in enumerate(raw[:MAX_FILTERS]):
            if not str(val).strip():
                continue  # a row the person has not filled in yet
            try:
                filters.append(make_filter(fk, op, val))
            except ValueError as exc:
                errors[f"filter-{i}"] = str(exc)
        if len(raw) > MAX_FILTERS:
            errors["filters"] = f"At most {MAX_FILTERS} filters; the rest were left out."
        formula = str(get("q")).strip()
        if len(formula) > MAX_FORMULA:
            errors["q"] = f"The formula is longer than {MAX_FORMULA} characters."
            formula = ""
        elif formula:
            msg = formula_error(formula)
            if msg:
                errors["q"] = msg
        sort = str(get("sort", DEFAULT_SORT[0]))
        direction = str(get("dir", "")).lower()
        if sort not in COLUMNS:
            errors["sort"] = "Unknown sort column; sorted by market cap."
            sort, direction = DEFAULT_SORT
        if direction not in ("asc", "desc"):
            direction = "asc" if not COLUMNS[sort].numeric else "desc"
        cols_raw = getlist("cols")
        if len(cols_raw) == 1 and "," in str(cols_raw[0]):
            cols_raw = str(cols_raw[0]).split(",")
        cols = [c.strip() for c in cols_raw if str(c).strip()]
        if cols:
            unknown = [c for c in cols if c not in COLUMNS]
            if unknown:
                errors["cols"] = f"Unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown[:5])}."
            cols = list(dict.fromkeys(c for c in cols if c in COLUMNS))
        if "symbol" in cols:
            cols.remove("symbol")
        columns = ("symbol", *cols) if cols else DEFAULT_COLUMNS
        try:
            per = int(get("per", DEFAULT_PAGE_SIZE))
            if not 1 <= per <= MAX_PAGE_SIZE:
                raise ValueError
        except (TypeError, ValueError):
            errors["per"] = f"Rows per page is 1 to {MAX_PAGE_SIZE}."
            per = DEFAULT_PAGE_SIZE
        wl = get("wl", "")
        watchlist_id = None
        if str(wl).strip():
            try:
                watchlist_id = parse_id(wl)
            except ValueError:
                errors["wl"] = "Unknown watchlist."
        return cls(tuple(filters), formula if "q" not in errors else "", sort, direction, columns, per,
                   watchlist_id, errors)

    @classmethod
    def from_dict(cls, data: Mapping) -> ScreenDefinition:
        """From a saved-screen row (``to_dict()`` output)."""
        args: dict[str, list] = {
            "f": [f"{f.get('field')}:{f.get('op')}:{'|'.join(str(v) for v in f.get('values', []))}"
                  for f in (data.get("filters") or []) if isinstance(f, Mapping)],
            "q": [data.get("formula") or ""],
            "sort": [data.get("sort") or DEFAULT_SORT[0]],
            "dir": [data.get("direction") or ""],
            "cols": [",".join(data.get("columns") or DEFAULT_COLUMNS)],
            "per": [str(data.get("page_size") or DEFAULT_PAGE_SIZE)],
        }
        if data.get("watchlist_id"):
            args["wl"] = [str(data["watchlist_id"])]
        return cls.parse(args)

    # ------------------------------------------------------------------ writing
    def to_dict(self) -> dict:
        d = {
            "filters": [{"field": f.field, "op": f.op,
                         "values": [fmt_number(v) if isinstance(v, float) else v for v in f.values]}
                        for f in self.filters],
            "formula": self.formula, "sort": self.sort, "direction": self.direction,
            "columns": list(self.columns), "page_size": self.page_size,
        }
        if self.watchlist_id is not None:
            d["watchlist_id"] = self.watchlist_id
        return d

    def query_items(self, page: int | None = None, **override) -> list[tuple[str, str]]:
        """The canonical URL parameters (defaults left out)."""
        d = replace(self, **override) if override else self
        items = [("f", f.token()) for f in d.filters]
        if d.formula:
            items.append(("q", d.formula))
        if (d.sort, d.direction) != DEFAULT_SORT:
            items += [("sort", d.sort), ("dir", d.direction)]
        if d.columns != DEFAULT_COLUMNS:
            items.append(("cols", ",".join(c for c in d.columns if c != "symbol")))
        if d.page_size != DEFAULT_PAGE_SIZE:
            items.append(("per", str(d.page_size)))
        if d.watchlist_id is not None:
            items.append(("wl", str(d.watchlist_id)))
        if page and page > 1:
            items.append(("page", str(page)))
        return items

    def query_string(self, page: int | None = None, **override) -> str:
        return urlencode(self.query_items(page, **override))

    def toggled_sort(self, key: str) -> tuple[str, str]:
        """The (sort, dir) a click on column ``key``'s header asks for."""
        if key == self.sort:
            return key, "asc" if self.direction == "desc" else "desc"
        return key, "desc" if COLUMNS[key].numeric else "asc"

    def with_(self, **changes) -> ScreenDefinition:
        return replace(self, **changes)

    @property
    def is_empty(self) -> bool:
        return not self.filters and not self.formula and self.watchlist_id is None

    def rule_text(self, *, all_filters: bool = False) -> str:
        """The formula (and, with ``all_filters``, every filter too) as one rule."""
        parts = [f.to_rule() for f in self.filters] if all_filters else []
        if self.formula:
            parts.append(f"({self.formula})")
        return " and ".join(parts)


def formula_error(text: str) -> str | None:
    """The rule checker's message for a screener formula (a condition), or None."""
    from app.rules import check

    verdict = check(text, "condition")
    if verdict.get("ok"):
        return None
    msg = verdict.get("message") or "invalid formula"
    col = verdict.get("column")
    return f"{msg}{f' (column {col})' if col else ''}".replace("`", "")
