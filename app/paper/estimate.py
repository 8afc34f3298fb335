"""What an order on the ticket would cost before it is sent: the live quote, the estimated
fill (server-side slippage, the same rule `place_order` applies), the cash it needs, buying
power left afterwards and the position-size cap. Read-only: nothing is written or locked.

The browser sends only what the trader typed; every price here comes from the database, and
`place_order` re-checks everything when the order is submitted.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import Snapshot, Stock
from app.models.paper import SIDES
from app.paper import services

ZERO = Decimal("0")
MAX_QTY = 10_000_000


@dataclass
class Estimate:
    symbol: str | None = None
    name: str | None = None
    quote: Decimal | None = None
    as_of: dt.datetime | None = None
    side: str = "buy"
    qty: int | None = None
    ref_price: Decimal | None = None      # the price the order is sized at (quote, limit or stop)
    est_price: Decimal | None = None      # estimated fill: ref with slippage against the trader
    commission: Decimal = ZERO
    cost: Decimal | None = None           # cash the order needs (buy, cover), margin (short), proceeds (sell)
    buying_power: Decimal = ZERO
    buying_power_after: Decimal | None = None
    cap: Decimal = ZERO                   # position-size cap in dollars (cap % of equity)
    cap_pct: Decimal = ZERO
    exposure_after: Decimal | None = None
    max_qty: int | None = None            # most shares the cap and buying power allow (entries)
    problems: list[str] = field(default_factory=list)
    hint: str | None = None               # what to enter next when there is nothing to estimate


def _quote(symbol: str) -> tuple[Stock, Decimal | None, dt.datetime | None] | None:
    sym = (symbol or "").strip().upper()[:12]
    if not sym:
        return None
    row = db.session.execute(
        select(Stock, Snapshot.price, Snapshot.as_of).outerjoin(Snapshot, Snapshot.stock_id == Stock.id)
        .where(Stock.symbol == sym, Stock.active.is_(True))).first()
    if row is None:
        return None
    return row[0], (services.dec(row.price) if row.price is not None else None), row.as_of


def _decimal(value) -> Decimal | None:
    """A finite number typed by the trader, or None (blank or not a number)."""
    try:
        d = Decimal(str(value).strip().replace(",", "")) if value not in (None, "") else None
    except InvalidOperation:
        return None
    return d if d is not None and d.is_finite() else None


def _price_or_none(value) -> Decimal | None:
    d = _decimal(value)
    return d if d is not None and d > 0 else None


def _ref_price(quote: Decimal, type_: str, limit: Decimal | None, stop: Decimal | None) -> Decimal:
    """The price the order is sized at, as `place_order` does: the limit, else the stop, else the quote."""
    if type_ in ("limit", "stop_limit") and limit is not None:
        return limit
    if type_ in ("stop", "stop_limit") and stop is not None:
        return stop
    return quote


def estimate_order(user, account_id: int, *, symbol: str = "", side: str = "buy", qty=None, amount=None,
                   type: str = "market", limit_price=None, stop_price=None) -> Estimate:
    """The ticket's estimate for the caller's account (NotFound for anyone else's)."""
    account = services.get_account(user, account_id)
    summary = services.account_summary(account)
    side = side if side in SIDES else "buy"
    est = Estimate(side=side, commission=account.commission, buying_power=summary.buying_power,
                   cap_pct=Decimal(account.position_cap_pct),
                   cap=services.q4(summary.equity * Decimal(account.position_cap_pct) / 100))
    found = _quote(symbol)
    if found is None:
        est.hint = "Enter a symbol to see its live quote." if not (symbol or "").strip() else \
            f"Unknown symbol {(symbol or '').strip().upper()[:12]}."
        return est
    stock, price, as_of = found
    est.symbol, est.name, est.quote, est.as_of = stock.symbol, stock.name, price, as_of
    if price is None:
        est.hint = f"There is no price for {stock.symbol} yet."
        return est
    _staleness(est, type)
    ref = _ref_price(price, (type or "market").lower(), _price_or_none(limit_price), _price_or_none(stop_price))
    est.ref_price = ref
    est.est_price = services.fill_price(side, ref, Decimal(account.slippage_bps) / Decimal(10000), None)
    held = next((p for p in summary.positions if p.stock_id == stock.id), None)
    held_qty = held.qty if held else 0
    _size(est, qty, amount, ref)
    if side in ("buy", "short"):
        _entry_limits(est, held_qty, ref)
    if est.qty is None:
        return est
    _costs(est, held, held_qty)
    return est


def _staleness(est: Estimate, type_: str) -> None:
    """A market order is refused on a stale quote while the market is open: say so up front."""
    from app.market.calendar import format_et
    from app.market.services import market_clock

    now = utcnow()
    if (type_ or "market") == "market" and est.as_of is not None and market_clock().is_open(now) \
            and (now - est.as_of).total_seconds() > services.max_quote_age():
        est.problems.append(f"The last quote for {est.symbol} is from {format_et(est.as_of)}; it is too old to "
                            "trade on. Try again after the next market data cycle.")


def _size(est: Estimate, qty, amount, ref: Decimal) -> None:
    """Shares from the quantity, else from the dollar amount at the sizing price (as
    `place_order` sizes it); a problem instead when what was typed is not usable."""
    n = None
    if qty not in (None, ""):
        d = _decimal(qty)
        if d is None or d != d.to_integral_value() or not 1 <= d <= MAX_QTY:
            est.problems.append(f"Quantity must be a whole number of shares from 1 to {MAX_QTY:,}.")
            return
        n = int(d)
    elif amount not in (None, ""):
        value = _decimal(amount)
        if value is None or value < 1:
            est.problems.append("Amount must be a number of dollars, at least 1.")
            return
        n = int(value // ref)
        if n < 1:
            est.problems.append(f"The amount buys less than one share at ${ref:,.2f}.")
            return
    if n is None:
        est.hint = "Enter a quantity or an amount to see the cost."
    est.qty = n


def _entry_limits(est: Estimate, held_qty: int, ref: Decimal) -> None:
    """Most shares an entry may add: the cap on the position's value and the buying power."""
    per_share = est.est_price if est.side == "buy" else services.SHORT_MARGIN * est.est_price
    by_cap = int(max(est.cap - abs(held_qty) * ref, ZERO) // ref)
    by_money = int(max(est.buying_power - est.commission, ZERO) // per_share) if per_share > 0 else 0
    est.max_qty = min(by_cap, by_money)


def _costs(est: Estimate, held, held_qty: int) -> None:
    n, p, fee = est.qty, est.est_price, est.commission
    q4 = services.q4
    if est.side == "buy":
        est.cost = q4(n * p + fee)
        est.buying_power_after = q4(est.buying_power - est.cost)
    elif est.side == "short":
        est.cost = q4(services.SHORT_MARGIN * n * p + fee)
        est.buying_power_after = q4(est.buying_power - est.cost)
    elif est.side == "sell":
        est.cost = q4(n * p - fee)  # proceeds
        est.buying_power_after = q4(est.buying_power + est.cost)
    else:  # cover: pay n * p; the short's maintenance on those shares is released
        mark = held.mark if held and held.mark is not None else p
        est.cost = q4(n * p + fee)
        est.buying_power_after = q4(est.buying_power - est.cost + services.SHORT_MAINTENANCE * n * mark)
    if est.side in ("buy", "short"):
        est.exposure_after = q4((abs(held_qty) + n) * est.ref_price)
        if est.cost > est.buying_power:
            est.problems.append(f"Insufficient buying power: this order needs ${est.cost:,.2f}, "
                                f"you have ${max(est.buying_power, ZERO):,.2f}.")
        if est.exposure_after > est.cap:
            est.problems.append(f"Position cap: {est.symbol} would be ${est.exposure_after:,.2f}, more than "
                                f"{float(est.cap_pct):g}% of equity (${est.cap:,.2f}).")
    elif est.side == "sell" and n > max(held_qty, 0):
        est.problems.append(f"You hold {max(held_qty, 0)} shares of {est.symbol}; you cannot sell {n}.")
    elif est.side == "cover" and n > max(-held_qty, 0):
        est.problems.append(f"You are short {max(-held_qty, 0)} shares of {est.symbol}; you cannot cover {n}.")
