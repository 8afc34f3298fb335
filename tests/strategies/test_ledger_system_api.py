"""One ledger writer: the paper ledger's system API (managed accounts) is what strategies'
forward tracking trades through; the user API refuses managed accounts and the system API
refuses a person's accounts; no module outside app/paper writes ledger rows."""
from __future__ import annotations

import pathlib
import re
from decimal import Decimal as D

import numpy as np
import pytest
from sqlalchemy import func, select

from app.database import utcnow
from app.errors import NotFound
from app.extensions import db as _db
from app.models import EquitySnapshot, Fill, Order, PaperAccount, Position, Snapshot, Trade
from app.paper import services as ledger
from app.strategies import services, tracking

LEDGER_MODELS = ("PaperAccount", "Order", "Fill", "Position", "Trade", "EquitySnapshot")


def count(model, account_id: int) -> int:
    return _db.session.scalar(select(func.count()).select_from(model).where(model.account_id == account_id))


def _price(stock_id: int, price: float) -> None:
    snap = _db.session.get(Snapshot, stock_id)
    snap.price, snap.as_of = price, utcnow()
    _db.session.commit()


def test_the_system_api_trades_a_managed_account(owner, bars):
    stock = bars.add("SYS", closes=np.full(30, 100.0))
    acct = ledger.open_managed_account(owner, "Strategy #9", 100000, position_cap_pct=50)
    assert acct.managed and ledger.list_accounts(owner) == []  # hidden from /paper, outside the plan limit
    entry = ledger.place_system_order(acct, symbol="SYS", side="buy", qty=10, take_profit="120", stop_loss="90")
    assert entry.status == "filled" and entry.source == "strategy" and entry.fill_price == D("100.05")
    legs = {o.role: o for o in _db.session.scalars(select(Order).where(Order.parent_id == entry.id))}
    assert {r: o.status for r, o in legs.items()} == {"take_profit": "open", "stop_loss": "open"}
    # cancel one leg (by id as well as by object)
    assert ledger.cancel_system_order(acct.id, legs["take_profit"].id).status == "cancelled"
    # close the position: a market order now (always-open test clock), the other leg cancelled
    _price(stock.id, 110.0)
    close = ledger.close_system_position(acct, stock_id=stock.id)
    assert close.status == "filled" and close.role == "close"
    _db.session.expire_all()
    assert _db.session.get(Order, legs["stop_loss"].id).status == "cancelled"
    trade = _db.session.scalar(select(Trade).where(Trade.account_id == acct.id))
    assert trade.qty == 10 and trade.pnl == (D("109.945") - D("100.05")) * 10
    # start over
    ledger.reset_managed(acct, "5000")
    _db.session.expire_all()
    acct = _db.session.get(PaperAccount, acct.id)
    assert acct.cash == acct.starting_balance == D("5000") and acct.realised_pnl == 0 and acct.reset_at
    assert [count(m, acct.id) for m in (Order, Fill, Position, Trade, EquitySnapshot)] == [0, 0, 0, 0, 0]


def test_the_system_api_refuses_a_persons_account(owner, bars):
    bars.add("MINE", closes=np.full(30, 50.0))
    mine = ledger.open_account(owner, "Mine", 100000)
    ledger.place_order(owner, mine.id, symbol="MINE", side="buy", qty=5)
    order = _db.session.scalar(select(Order).where(Order.account_id == mine.id))
    cash = mine.cash
    with pytest.raises(NotFound):
        ledger.place_system_order(mine, symbol="MINE", side="buy", qty=5)
    with pytest.raises(NotFound):
        ledger.close_system_position(mine.id, stock_id=order.stock_id)
    with pytest.raises(NotFound):
        ledger.cancel_system_order(mine, order.id)
    with pytest.raises(NotFound):
        ledger.reset_managed(mine)
    _db.session.rollback()
    _db.session.expire_all()
    assert count(Order, mine.id) == 1 and count(Position, mine.id) == 1
    assert _db.session.get(PaperAccount, mine.id).cash == cash


def test_the_user_api_refuses_a_managed_account_and_never_takes_an_account_object(owner, bars):
    stock = bars.add("USR", closes=np.full(30, 20.0))
    acct = ledger.open_managed_account(owner, "Strategy #10", 100000)
    entry = ledger.place_system_order(acct, symbol="USR", side="buy", qty=5, stop_loss="15")
    leg = _db.session.scalar(select(Order).where(Order.parent_id == entry.id))
    calls = [
        lambda: ledger.place_order(owner, acct.id, symbol="USR", side="sell", qty=5),
        lambda: ledger.close_position(owner, acct.id, stock_id=stock.id),
        lambda: ledger.cancel_order(owner, leg.id),
        lambda: ledger.reset_account(owner, acct.id),
        lambda: ledger.get_account(owner, acct.id),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
        _db.session.rollback()
    with pytest.raises(TypeError):  # the old "pass an account instead of a user" door is shut
        ledger.place_order(acct, acct.id, symbol="USR", side="sell", qty=5)
    with pytest.raises(TypeError):  # a person cannot open a managed account
        ledger.open_account(owner, "Sneaky", 100000, managed=True)
    _db.session.expire_all()
    assert _db.session.get(Order, leg.id).status == "open" and count(Order, acct.id) == 2
    assert _db.session.scalar(select(Position.qty).where(Position.account_id == acct.id)) == 5


def test_tracking_again_starts_the_managed_account_over(owner, bars):
    bars.add("UP", closes=np.r_[np.full(40, 100.0), 110.0])
    s = services.create_strategy(owner, name="Jump", category="momentum", universe="UP",
                                 entry_rule="change_pct > 5", exit_rule="change_pct < -5", sizing_pct="20",
                                 stop_loss_pct="5", take_profit_pct="10", visibility="public")
    s = services.start_tracking(owner, s.id)
    assert tracking.track_all()["entries"] == 1
    account_id = s.paper_account_id
    assert count(Order, account_id) == 3 and count(Fill, account_id) == 1  # entry filled, two legs open
    services.stop_tracking(owner, s.id)
    s = services.start_tracking(owner, s.id)
    assert s.paper_account_id == account_id
    acct = _db.session.get(PaperAccount, account_id)
    assert acct.managed and acct.cash == acct.starting_balance == D("100000")
    assert [count(m, account_id) for m in (Order, Fill, Position, Trade)] == [0, 0, 0, 0]


def test_no_module_outside_app_paper_writes_ledger_rows():
    root = pathlib.Path(__file__).resolve().parents[2] / "app"
    names = "|".join(LEDGER_MODELS)
    writes = [
        re.compile(rf"\b(insert|update|delete)\(\s*({names})\b"),
        re.compile(rf"\b({names})\.__table__\.(insert|update|delete)\b"),
        re.compile(rf"\.add(_all)?\(\s*\[?\s*({names})\("),
        re.compile(r"ledger\._\w+"),  # the ledger's private helpers (its lock, its books)
    ]
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("paper/") or rel.startswith("models/"):
            continue
        text = path.read_text()
        offenders += [f"{rel}: {m.group(0)}" for rx in writes for m in rx.finditer(text)]
    assert offenders == []
