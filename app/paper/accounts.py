"""Accounts: the two doors into the ledger.

* **User API** (a person, through /paper): :func:`get_account`, :func:`list_accounts`,
  :func:`open_account`, :func:`reset_account` take the acting user and an account id and
  only ever reach that user's *own, unmanaged* accounts (anything else: NotFound).
* **System API** (strategies' forward tracking, copy trading): :func:`open_managed_account`
  and :func:`reset_managed` reach *managed* accounts only. A managed account is run by the
  system: never listed on /paper, never touched by hand (the leaderboard's integrity
  depends on it), outside the plan's account limit.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update

from app.billing.plans import enforce_limit, plan_for
from app.database import utcnow
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models.paper import EquitySnapshot, Fill, Order, PaperAccount, Position, Trade
from app.paper.common import DEFAULT_BALANCE, MAX_BALANCE, ZERO, lock_accounts, money, row_id


def _account_id(value: Any) -> int:
    return row_id(value, "No such paper account.")


def owned_account(user, account_id: Any) -> PaperAccount:
    """The user's own unmanaged account (another user's id or a managed one: NotFound)."""
    if isinstance(user, PaperAccount):
        # the user API never takes an account object: that is the system API's door
        raise TypeError("the user API takes the acting user; use the system API for managed accounts")
    account = db.session.scalar(select(PaperAccount).where(
        PaperAccount.id == _account_id(account_id), PaperAccount.owner_id == user.id,
        PaperAccount.managed.is_(False)))
    if account is None:
        raise NotFound("No such paper account.")
    return account


def managed_account(account: PaperAccount | int) -> PaperAccount:
    """A managed account, given as the object or its id (an unmanaged one: NotFound)."""
    account_id = account.id if isinstance(account, PaperAccount) else _account_id(account)
    found = db.session.scalar(select(PaperAccount).where(PaperAccount.id == account_id,
                                                         PaperAccount.managed.is_(True)))
    if found is None:
        raise NotFound("No such managed paper account.")
    return found


def get_account(user, account_id: int) -> PaperAccount:
    """The user's account (another user's id: NotFound, never Forbidden)."""
    return owned_account(user, account_id)


def list_accounts(user) -> list[PaperAccount]:
    return list(db.session.scalars(select(PaperAccount).where(PaperAccount.owner_id == user.id,
                                                              PaperAccount.managed.is_(False))
                                   .order_by(PaperAccount.created_at, PaperAccount.id)))


def _settings(name: str, starting_balance: Any, slippage_bps: Any, commission: Any,
              position_cap_pct: Any) -> dict:
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise InvalidInput("Give the account a name of 1 to 60 characters.", field="name")
    return {
        "name": name,
        "starting_balance": money(starting_balance, "starting_balance", minimum=Decimal("100"),
                                  maximum=MAX_BALANCE, label="Starting balance"),
        "slippage_bps": money(slippage_bps, "slippage_bps", maximum=Decimal("500"), label="Slippage (bps)"),
        "commission": money(commission, "commission", maximum=Decimal("1000"), label="Commission"),
        "position_cap_pct": money(position_cap_pct, "position_cap_pct", minimum=Decimal("1"),
                                  maximum=Decimal("100"), label="Position cap %"),
    }


def _create(owner, settings: dict, allow_short: bool, managed: bool) -> PaperAccount:
    balance = settings["starting_balance"]
    account = PaperAccount(owner_id=owner.id, cash=balance, realised_pnl=ZERO, commissions_paid=ZERO,
                           allow_short=bool(allow_short), version=0, managed=managed, **settings)
    db.session.add(account)
    db.session.commit()
    return account


def open_account(user, name: str = "Paper account", starting_balance: Any = DEFAULT_BALANCE, *,
                 allow_short: bool = False, slippage_bps: Any = 5, commission: Any = 0,
                 position_cap_pct: Any = 25) -> PaperAccount:
    """Open an account of the user's own (counted against the plan's limit; unique name)."""
    settings = _settings(name, starting_balance, slippage_bps, commission, position_cap_pct)
    enforce_limit(user, plan_for(user), "paper_accounts", lambda: len(list_accounts(user)),
                  noun="paper accounts",
                  message="Your plan allows {limit} paper account{s}. Upgrade your plan to open more.")
    if db.session.scalar(select(PaperAccount.id).where(PaperAccount.owner_id == user.id,
                                                       PaperAccount.name == settings["name"])):
        raise InvalidInput("You already have an account with this name.", field="name")
    return _create(user, settings, allow_short, managed=False)


def open_managed_account(owner, name: str, starting_balance: Any = DEFAULT_BALANCE, *,
                         allow_short: bool = False, slippage_bps: Any = 5, commission: Any = 0,
                         position_cap_pct: Any = 25) -> PaperAccount:
    """System API: open an account the system trades for ``owner`` (a strategy's forward
    tracking). Hidden from /paper, outside the plan limit, reachable only through the
    system API (:func:`app.paper.orders.place_system_order`, :func:`reset_managed`)."""
    settings = _settings(name, starting_balance, slippage_bps, commission, position_cap_pct)
    settings["name"] = _free_name(owner, settings["name"])
    return _create(owner, settings, allow_short, managed=True)


def _free_name(owner, name: str) -> str:
    """``name``, or ``name (2)``, ``(3)``...: account names are unique per owner, and a
    managed account is hidden from its owner, who may already use the name for one of theirs."""
    taken = set(db.session.scalars(select(PaperAccount.name).where(PaperAccount.owner_id == owner.id,
                                                                    PaperAccount.name.startswith(name))))
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def _wipe(account: PaperAccount, starting_balance: Any) -> PaperAccount:
    """Delete every order, fill, position, trade and equity snapshot of the account and
    put cash back to the starting balance (or a new one)."""
    lock_accounts([account.id])
    if starting_balance not in (None, ""):
        account.starting_balance = money(starting_balance, "starting_balance", minimum=Decimal("100"),
                                         maximum=MAX_BALANCE, label="Starting balance")
    for model in (Trade, Fill, Position, EquitySnapshot):
        db.session.execute(delete(model).where(model.account_id == account.id))
    db.session.execute(update(Order).where(Order.account_id == account.id).values(parent_id=None))
    db.session.execute(delete(Order).where(Order.account_id == account.id))
    account.cash = account.starting_balance
    account.realised_pnl = ZERO
    account.commissions_paid = ZERO
    account.reset_at = utcnow()
    account.version = (account.version or 0) + 1
    db.session.commit()
    return account


def reset_account(user, account_id: int, starting_balance: Any = None) -> PaperAccount:
    """Start over: every order, fill, position, trade and equity snapshot of the account is
    deleted and cash returns to the starting balance (or a new one)."""
    return _wipe(owned_account(user, account_id), starting_balance)


def reset_managed(account: PaperAccount | int, starting_balance: Any = None) -> PaperAccount:
    """System API: start a managed account over (a strategy that starts tracking again)."""
    return _wipe(managed_account(account), starting_balance)
