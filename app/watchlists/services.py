"""Watchlists: the one API that writes lists and items.

Owner scoping on every lookup (another user's id raises NotFound), plan limits
(``watchlists`` per user, ``watchlist_items`` per list) with an upgrade message, and the
"price when added" taken from the snapshot -- never from the client.

For other domains (alerts, strategies):

* :func:`get_watchlist(user, id) <get_watchlist>` -- an owned list or ``None``;
* :func:`watchlist_stock_ids(watchlist) <watchlist_stock_ids>` -- its stock ids;
* :func:`list_watchlists(user) <list_watchlists>`.
"""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select, update

from app.billing.plans import enforce_limit, lock_owner, plan_for
from app.errors import InvalidInput, LimitReached, NotFound, parse_id
from app.extensions import db
from app.market.queries import stock_rows
from app.models.market import Snapshot, Stock
from app.models.screener import Watchlist, WatchlistItem

MAX_NAME = 60
MAX_NOTE = 500
MAX_PASTE = 1000
SORTS = {
    "symbol": "Symbol", "added": "Date added", "change_pct": "Change % today",
    "since_added": "Change since added", "price": "Price",
}
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")


def _upgrade_hint() -> str:
    return " Upgrade your plan to raise the limit."


# ------------------------------------------------------------------ reads
def list_watchlists(user) -> list[Watchlist]:
    return list(db.session.scalars(select(Watchlist).where(Watchlist.owner_id == user.id)
                                   .order_by(Watchlist.created_at, Watchlist.id)))


def get_watchlist(user, watchlist_id) -> Watchlist | None:
    """The user's list, or None (for another user's id too)."""
    try:
        watchlist_id = parse_id(watchlist_id)
    except ValueError:
        return None
    if not 0 < watchlist_id < 2**63:  # a form value past BIGINT is no list (not a 500)
        return None
    if user is None or not getattr(user, "id", None):
        return None
    return db.session.scalar(select(Watchlist).where(Watchlist.id == watchlist_id, Watchlist.owner_id == user.id))


def get_owned(user, watchlist_id) -> Watchlist:
    wl = get_watchlist(user, watchlist_id)
    if wl is None:
        raise NotFound("No such watchlist.")
    return wl


def watchlist_stock_ids(watchlist: Watchlist | int) -> list[int]:
    wid = watchlist if isinstance(watchlist, int) else watchlist.id
    return list(db.session.scalars(select(WatchlistItem.stock_id).where(WatchlistItem.watchlist_id == wid)
                                   .order_by(WatchlistItem.id)))


def item_count(watchlist: Watchlist) -> int:
    return db.session.scalar(select(func.count()).select_from(WatchlistItem)
                             .where(WatchlistItem.watchlist_id == watchlist.id)) or 0


def counts(user) -> dict[int, int]:
    rows = db.session.execute(select(WatchlistItem.watchlist_id, func.count()).join(Watchlist)
                              .where(Watchlist.owner_id == user.id).group_by(WatchlistItem.watchlist_id))
    return dict(rows.all())


def item_views(watchlist: Watchlist, sort: str = "added", direction: str = "asc") -> list[dict]:
    """Items with their live quote and change since added."""
    items = list(db.session.scalars(select(WatchlistItem).where(WatchlistItem.watchlist_id == watchlist.id)
                                    .order_by(WatchlistItem.id)))
    quotes = stock_rows([i.stock_id for i in items])
    out = []
    for it in items:
        q = quotes.get(it.stock_id, {})
        price = q.get("price")
        since = None
        if price is not None and it.price_added:
            since = (float(price) / float(it.price_added) - 1) * 100
        out.append({"item": it, "symbol": q.get("symbol"), "name": q.get("name"), "price": price,
                    "change_pct": q.get("change_pct"), "change": q.get("change"), "volume": q.get("volume"),
                    "as_of": q.get("as_of"), "source": q.get("source"), "since_added": since,
                    "to_target": (float(it.target_price) / float(price) - 1) * 100 if price and it.target_price else None,
                    "to_stop": (float(it.stop_price) / float(price) - 1) * 100 if price and it.stop_price else None})
    key = {"symbol": lambda r: r["symbol"] or "", "added": lambda r: r["item"].id,
           "change_pct": lambda r: r["change_pct"], "since_added": lambda r: r["since_added"],
           "price": lambda r: r["price"]}.get(sort, lambda r: r["item"].id)
    present = [r for r in out if key(r) is not None]
    missing = [r for r in out if key(r) is None]
    present.sort(key=key, reverse=direction == "desc")
    return present + missing


# ------------------------------------------------------------------ writes
def _bump(watchlist: Watchlist) -> None:
    db.session.execute(update(Watchlist).where(Watchlist.id == watchlist.id)
                       .values(version=Watchlist.version + 1, updated_at=func.now()))


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"Give the list a name of 1 to {MAX_NAME} characters.", field="name")
    return name


def _name_taken(user, name: str, exclude: int | None = None) -> bool:
    q = select(Watchlist.id).where(Watchlist.owner_id == user.id, func.lower(Watchlist.name) == name.lower())
    if exclude:
        q = q.where(Watchlist.id != exclude)
    return db.session.scalar(q) is not None


def create_watchlist(user, name: str) -> Watchlist:
    name = _clean_name(name)
    enforce_limit(user, plan_for(user), "watchlists", lambda: len(list_watchlists(user)), noun="watchlists",
                  message="Your {plan} plan allows {limit} watchlist{s}." + _upgrade_hint())
    if _name_taken(user, name):
        raise InvalidInput("You already have a list with this name.", field="name")
    wl = Watchlist(owner_id=user.id, name=name, version=0)
    db.session.add(wl)
    db.session.commit()
    return wl


def default_watchlist(user) -> Watchlist:
    """The user's first list, created ("My watchlist") when they have none."""
    lists = list_watchlists(user)
    return lists[0] if lists else create_watchlist(user, "My watchlist")


def rename_watchlist(user, watchlist_id, name: str) -> Watchlist:
    wl = get_owned(user, watchlist_id)
    name = _clean_name(name)
    if _name_taken(user, name, exclude=wl.id):
        raise InvalidInput("You already have a list with this name.", field="name")
    wl.name = name
    _bump(wl)
    db.session.commit()
    return wl


def delete_watchlist(user, watchlist_id) -> None:
    wl = get_owned(user, watchlist_id)
    db.session.delete(wl)
    db.session.commit()


def _stock(symbol: str) -> Stock:
    sym = (symbol or "").strip().upper()
    stock = db.session.scalar(select(Stock).where(Stock.symbol == sym)) if sym else None
    if stock is None:
        raise InvalidInput(f"Unknown symbol “{sym[:12]}”." if sym else "Enter a symbol.", field="symbol")
    return stock


def _room(user, wl: Watchlist, adding: int) -> int:
    limit = plan_for(user).limit("watchlist_items")
    if limit is None:
        return adding
    lock_owner(user.id)  # the count and the insert that follows are one step for this owner
    return max(0, min(adding, limit - item_count(wl)))


def _limit_error(user, wl: Watchlist) -> LimitReached:
    plan = plan_for(user)
    limit = plan.limit("watchlist_items")
    return LimitReached(f"Your {plan.name} plan allows {limit} symbols per watchlist." + _upgrade_hint(),
                        usage=f"{plan.name} plan: {item_count(wl)} of {limit} symbols in “{wl.name}” used")


def _price(value, field_name: str, label: str) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        d = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except InvalidOperation:
        raise InvalidInput(f"{label} must be a number.", field=field_name) from None
    if not d.is_finite() or d <= 0 or d > Decimal("10000000"):
        raise InvalidInput(f"{label} must be a positive price.", field=field_name)
    return d.quantize(Decimal("0.0001"))


def add_symbols(user, watchlist_id, symbols: list[str] | str, *, note: str | None = None,
                target=None, stop=None) -> dict:
    """Add symbols (a list, or text pasted with commas/spaces/new lines). Returns
    ``{"added": [...], "already": [...], "unknown": [...], "skipped": [...]}`` where
    ``skipped`` are those left out by the plan limit. Raises LimitReached when nothing fits."""
    wl = get_owned(user, watchlist_id)
    if isinstance(symbols, str):
        symbols = parse_symbols(symbols)
    wanted = list(dict.fromkeys(s.strip().upper() for s in symbols if s and s.strip()))[:MAX_PASTE]
    if not wanted:
        raise InvalidInput("Enter at least one symbol.", field="symbol")
    target_d = _price(target, "target_price", "Target")
    stop_d = _price(stop, "stop_price", "Stop")
    note = (note or "").strip()[:MAX_NOTE] or None
    found = {s.symbol: s for s in db.session.scalars(select(Stock).where(Stock.symbol.in_(wanted)))}
    unknown = [s for s in wanted if s not in found]
    present = set(db.session.scalars(select(WatchlistItem.stock_id).where(WatchlistItem.watchlist_id == wl.id)))
    already = [s for s in wanted if s in found and found[s].id in present]
    new = [s for s in wanted if s in found and found[s].id not in present]
    if len(wanted) == 1 and unknown:
        raise InvalidInput(f"Unknown symbol “{unknown[0][:12]}”.", field="symbol")
    room = _room(user, wl, len(new))
    if new and room == 0:
        raise _limit_error(user, wl)
    added, skipped = new[:room], new[room:]
    prices = dict(db.session.execute(select(Snapshot.stock_id, Snapshot.price)
                                     .where(Snapshot.stock_id.in_([found[s].id for s in added]))).all()) if added else {}
    for s in added:
        p = prices.get(found[s].id)
        db.session.add(WatchlistItem(watchlist_id=wl.id, stock_id=found[s].id, note=note, target_price=target_d,
                                     stop_price=stop_d,
                                     price_added=Decimal(str(p)).quantize(Decimal("0.0001")) if p else None))
    if added:
        _bump(wl)
    db.session.commit()
    return {"added": added, "already": already, "unknown": unknown, "skipped": skipped}


def parse_symbols(text: str) -> list[str]:
    """Symbols from pasted text: separated by commas, spaces, semicolons or new lines."""
    return [t for t in (p.strip().upper().lstrip("$") for p in re.split(r"[\s,;]+", text or "")) if t]


def symbols_from_csv(data: bytes | str) -> list[str]:
    """Symbols from a CSV file: the ``symbol``/``ticker`` column when there is a header,
    otherwise the first column."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    rows = [r for r in csv.reader(io.StringIO(text[:2_000_000])) if r and any(c.strip() for c in r)]
    if not rows:
        return []
    header = [c.strip().lower() for c in rows[0]]
    col = next((header.index(n) for n in ("symbol", "ticker", "symbols") if n in header), None)
    body = rows[1:] if col is not None else rows
    col = col or 0
    out = [r[col].strip().upper().lstrip("$") for r in body if len(r) > col]
    return [s for s in out if _SYMBOL.match(s)][:MAX_PASTE]


def _owned_item(user, item_id) -> WatchlistItem:
    try:
        item_id = int(item_id)
    except (TypeError, ValueError):
        raise NotFound("No such item.") from None
    item = db.session.scalar(select(WatchlistItem).join(Watchlist)
                             .where(WatchlistItem.id == item_id, Watchlist.owner_id == user.id))
    if item is None:
        raise NotFound("No such item.")
    return item


def update_item(user, item_id, *, note=None, target=None, stop=None) -> WatchlistItem:
    item = _owned_item(user, item_id)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"Keep the note under {MAX_NOTE} characters.", field="note")
    target_d = _price(target, "target_price", "Target")  # validate everything before writing
    stop_d = _price(stop, "stop_price", "Stop")
    item.note, item.target_price, item.stop_price = note or None, target_d, stop_d
    _bump(item.watchlist)
    db.session.commit()
    return item


def remove_item(user, item_id) -> Watchlist:
    item = _owned_item(user, item_id)
    wl = item.watchlist
    db.session.delete(item)
    _bump(wl)
    db.session.commit()
    return wl


def move_item(user, item_id, to_watchlist_id) -> WatchlistItem:
    """Move an item (note, target, stop, price when added kept) to another of the user's lists."""
    item = _owned_item(user, item_id)
    target = get_owned(user, to_watchlist_id)
    source = item.watchlist
    if target.id == source.id:
        return item
    if db.session.scalar(select(WatchlistItem.id).where(WatchlistItem.watchlist_id == target.id,
                                                        WatchlistItem.stock_id == item.stock_id)):
        raise InvalidInput(f"{item.stock.symbol} is already in “{target.name}”.", field="to")
    if _room(user, target, 1) == 0:
        raise _limit_error(user, target)
    item.watchlist_id = target.id
    _bump(source)
    _bump(target)
    db.session.commit()
    return item
