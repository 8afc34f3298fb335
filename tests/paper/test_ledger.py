"""The ledger: fills, slippage, commission, order types, brackets, shorts, risk rules,
market hours, bad input, idempotency, reset, equity snapshots, concurrency."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.errors import Conflict, InvalidInput, LimitReached, NotFound
from app.extensions import db
from app.models import EquitySnapshot, Fill, Order, PaperAccount, Position, Trade
from app.paper import services

UTC = dt.UTC
SATURDAY = dt.datetime(2025, 11, 22, 15, 0, tzinfo=UTC)  # markets closed
MONDAY_OPEN = dt.datetime(2025, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 ET, regular session


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_market_buy_fills_now_with_slippage_and_commission(trader, market):
    acct = services.open_account(trader, "Fees", 100000, commission=1)
    stock = market.add("AAPL", 100.0)
    order = services.place_order(trader, acct.id, symbol="aapl", side="buy", qty=10)
    assert order.status == "filled"
    assert order.fill_price == D("100.0500")  # 5 bps against the buyer
    fill = db.session.scalar(select(Fill))
    assert (fill.price, fill.market_price, fill.slippage, fill.commission) == (D("100.05"), D("100"), D("0.5"), D("1"))
    db.session.refresh(acct)
    assert acct.cash == D("100000") - D("1000.5") - 1
    pos = db.session.scalar(select(Position))
    assert (pos.stock_id, pos.qty, pos.avg_price, pos.cost_basis, pos.open_fees) == (stock.id, 10, D("100.05"), D("1000.5"), D("1"))


def test_round_trip_creates_trade_with_pnl_net_of_fees(trader, market):
    acct = services.open_account(trader, "RT", 100000, commission=1)
    stock = market.add("MSFT", 100.0)
    services.place_order(trader, acct.id, symbol="MSFT", side="buy", qty=10)
    market.set(stock, 110.0)
    order = services.place_order(trader, acct.id, symbol="MSFT", side="sell", qty=10)
    assert order.fill_price == D("109.9450")
    trade = db.session.scalar(select(Trade))
    # (109.945 - 100.05) * 10 = 98.95, minus 1 + 1 commission
    assert trade.pnl == D("96.95")
    assert trade.fees == D("2")
    assert trade.pnl_pct == (D("96.95") / D("1000.5") * 100).quantize(D("0.0001"))
    assert trade.side == "long" and trade.qty == 10 and trade.r_multiple is None
    assert trade.entry_price == D("100.05") and trade.exit_price == D("109.945")
    db.session.refresh(acct)
    assert acct.realised_pnl == D("96.95")
    assert acct.cash == D("100096.95")
    assert count(Position) == 0


def test_partial_close_keeps_the_rest(account, trader, market):
    market.add("PC", 50.0)
    services.place_order(trader, account.id, symbol="PC", side="buy", qty=30)
    services.place_order(trader, account.id, symbol="PC", side="sell", qty=10)
    pos = db.session.scalar(select(Position))
    assert pos.qty == 20
    assert db.session.scalar(select(Trade.qty)) == 10


def test_limit_order_waits_then_fills_never_worse_than_limit(account, trader, market):
    stock = market.add("LIM", 100.0)
    order = services.place_order(trader, account.id, symbol="LIM", side="buy", qty=5, type="limit", limit_price="99")
    assert order.status == "open"
    market.set(stock, 99.5)
    assert services.process_open_orders()["filled"] == 0
    market.set(stock, 98.99)
    stats = services.process_open_orders()
    assert stats["filled"] == 1
    db.session.refresh(order)
    assert order.status == "filled"
    # 98.99 * 1.0005 = 99.0395 -> capped at the limit
    assert order.fill_price == D("99")


def test_stop_sell_and_stop_limit_arm_then_fill(account, trader, market):
    stock = market.add("STP", 100.0)
    services.place_order(trader, account.id, symbol="STP", side="buy", qty=100)
    stop = services.place_order(trader, account.id, symbol="STP", side="sell", qty=50, type="stop", stop_price="95")
    sl = services.place_order(trader, account.id, symbol="STP", side="sell", qty=50, type="stop_limit",
                              stop_price="90", limit_price="89")
    market.set(stock, 96)
    assert services.process_open_orders()["filled"] == 0
    market.set(stock, 94)
    assert services.process_open_orders()["filled"] == 1
    db.session.refresh(stop)
    assert stop.status == "filled" and stop.fill_price == D("93.953")
    market.set(stock, 88)  # stop hit but below the limit: armed, not filled
    res = services.process_open_orders()
    assert (res["filled"], res["armed"]) == (0, 1)
    db.session.refresh(sl)
    assert sl.stop_triggered and sl.status == "open"
    market.set(stock, 89.5)
    assert services.process_open_orders()["filled"] == 1
    db.session.refresh(sl)
    assert sl.status == "filled" and sl.fill_price == D("89.4553")


def test_bracket_legs_become_oco_and_r_multiple(account, trader, market):
    stock = market.add("BRK", 100.0)
    entry = services.place_order(trader, account.id, symbol="BRK", side="buy", qty=10, type="limit", limit_price="100",
                                 take_profit="110", stop_loss="95")
    legs = db.session.scalars(select(Order).where(Order.parent_id == entry.id).order_by(Order.id)).all()
    assert [(o.role, o.status, o.side, o.type) for o in legs] == [
        ("take_profit", "open", "sell", "limit"), ("stop_loss", "open", "sell", "stop")]  # entry filled at once
    assert entry.status == "filled" and entry.fill_price == D("100")
    assert db.session.scalar(select(Position.stop_price)) == D("95")
    market.set(stock, 111)
    assert services.process_open_orders()["filled"] == 1
    statuses = [db.session.get(Order, o.id).status for o in legs]
    assert statuses == ["filled", "cancelled"]
    trade = db.session.scalar(select(Trade))
    assert trade.exit_price == D("110.9445")
    # R = (110.9445 - 100) / (100 - 95)
    assert trade.r_multiple == D("2.1889")
    assert services.process_open_orders()["checked"] == 0


def test_bracket_waits_pending_until_entry_fills_and_dies_with_it(account, trader, market):
    market.add("BPD", 100.0)
    entry = services.place_order(trader, account.id, symbol="BPD", side="buy", qty=10, type="limit", limit_price="90",
                                 take_profit="120", stop_loss="85")
    legs = db.session.scalars(select(Order).where(Order.parent_id == entry.id)).all()
    assert {o.status for o in legs} == {"pending"}
    assert services.process_open_orders()["checked"] == 1  # legs are not checked while pending
    services.cancel_order(trader, entry.id)
    assert {db.session.get(Order, o.id).status for o in legs} == {"cancelled"}


def test_bracket_prices_must_be_on_the_right_side(account, trader, market):
    market.add("BAD", 100.0)
    with pytest.raises(InvalidInput) as e:
        services.place_order(trader, account.id, symbol="BAD", side="buy", qty=1, take_profit="90")
    assert e.value.field == "take_profit"
    with pytest.raises(InvalidInput) as e:
        services.place_order(trader, account.id, symbol="BAD", side="buy", qty=1, stop_loss="101")
    assert e.value.field == "stop_loss"
    assert count(Order) == 0


def test_shorts_refused_unless_allowed(account, trader, market):
    market.add("SHT", 100.0)
    with pytest.raises(InvalidInput, match="Short selling is not enabled"):
        services.place_order(trader, account.id, symbol="SHT", side="short", qty=10)
    assert count(Order) == 0


def test_short_then_cover(trader, market):
    acct = services.open_account(trader, "Shorts", 100000, allow_short=True)
    stock = market.add("SHO", 100.0)
    services.place_order(trader, acct.id, symbol="SHO", side="short", qty=100)
    db.session.refresh(acct)
    assert acct.cash == D("100000") + D("9995")  # sold at 99.95
    summary = services.account_summary(acct)
    assert summary.positions[0].qty == -100
    assert summary.equity == D("100000") + D("9995") - D("10000")
    # buying power = cash - 150 % of the short value
    assert summary.buying_power == D("109995") - D("15000")
    with pytest.raises(InvalidInput, match="use cover"):
        services.place_order(trader, acct.id, symbol="SHO", side="buy", qty=1)
    market.set(stock, 90.0)
    services.place_order(trader, acct.id, symbol="SHO", side="cover", qty=100)
    trade = db.session.scalar(select(Trade))
    assert trade.side == "short"
    assert trade.pnl == (D("99.95") - D("90.045")) * 100
    with pytest.raises(InvalidInput, match="short 0 shares"):
        services.place_order(trader, acct.id, symbol="SHO", side="cover", qty=1)


def test_position_cap_and_buying_power(account, trader, market):
    market.add("CAP", 100.0)
    with pytest.raises(InvalidInput, match="Position cap") as e:
        services.place_order(trader, account.id, symbol="CAP", side="buy", qty=251)
    assert e.value.field == "qty"
    services.place_order(trader, account.id, symbol="CAP", side="buy", qty=249)
    with pytest.raises(InvalidInput, match="Position cap"):
        services.place_order(trader, account.id, symbol="CAP", side="buy", qty=5)
    assert count(Order) == 1


def test_insufficient_cash_writes_nothing(trader, market):
    acct = services.open_account(trader, "Small", 1000, position_cap_pct=100)
    market.add("BIG", 100.0)
    with pytest.raises(InvalidInput, match="Insufficient buying power"):
        services.place_order(trader, acct.id, symbol="BIG", side="buy", qty=10)  # 1000.50 > 1000
    assert (count(Order), count(Fill), count(Position)) == (0, 0, 0)
    db.session.refresh(acct)
    assert acct.cash == D("1000")


def test_amount_is_turned_into_whole_shares(account, trader, market):
    market.add("AMT", 33.0)
    order = services.place_order(trader, account.id, symbol="AMT", side="buy", amount="1000")
    assert order.qty == 30


@pytest.mark.parametrize("qty", ["0", "-5", "1.5", "abc", "1e3x", ""])
def test_bad_quantities(account, trader, market, qty):
    market.add("QTY", 10.0)
    with pytest.raises(InvalidInput) as e:
        services.place_order(trader, account.id, symbol="QTY", side="buy", qty=qty)
    assert e.value.field == "qty"
    assert count(Order) == 0


def test_unknown_symbol_missing_and_stale_snapshot(account, trader, market):
    with pytest.raises(InvalidInput, match="Unknown symbol ZZZZ") as e:
        services.place_order(trader, account.id, symbol="ZZZZ", side="buy", qty=1)
    assert e.value.field == "symbol"
    from app.models import Stock

    db.session.add(Stock(symbol="NOPX", name="No price", active=True))
    db.session.commit()
    with pytest.raises(InvalidInput, match="no price for NOPX"):
        services.place_order(trader, account.id, symbol="NOPX", side="buy", qty=1)
    market.add("OLD", 10.0, as_of=dt.datetime.now(UTC) - dt.timedelta(hours=2))
    with pytest.raises(InvalidInput, match="too old"):
        services.place_order(trader, account.id, symbol="OLD", side="buy", qty=1)
    assert count(Order) == 0
    # a stale quote is not traded on by the cycle either
    services.place_order(trader, account.id, symbol="OLD", side="buy", qty=1, type="limit", limit_price="11")
    assert services.process_open_orders()["filled"] == 0


def test_duplicate_submission(account, trader, market):
    market.add("DUP", 10.0)
    services.place_order(trader, account.id, symbol="DUP", side="buy", qty=1, idempotency_key="k-1")
    with pytest.raises(Conflict, match="already submitted"):
        services.place_order(trader, account.id, symbol="DUP", side="buy", qty=1, idempotency_key="k-1")
    assert (count(Order), count(Fill)) == (1, 1)


def test_other_users_ids_are_not_found(account, trader, market, factories):
    other = factories.user()
    market.add("OWN", 10.0)
    with pytest.raises(NotFound):
        services.place_order(other, account.id, symbol="OWN", side="buy", qty=1)
    order = services.place_order(trader, account.id, symbol="OWN", side="buy", qty=1, type="limit", limit_price="5")
    with pytest.raises(NotFound):
        services.cancel_order(other, order.id)
    with pytest.raises(NotFound):
        services.reset_account(other, account.id)
    with pytest.raises(NotFound):
        services.close_position(other, account.id, stock_id=order.stock_id)
    assert db.session.get(Order, order.id).status == "open"


def test_market_closed_orders_wait_for_the_open(account, trader, market, calendar_clock):
    stock = market.add("WAIT", 100.0, as_of=SATURDAY - dt.timedelta(hours=20))
    order = services.place_order(trader, account.id, symbol="WAIT", side="buy", qty=10, now=SATURDAY)
    assert order.status == "open" and order.session == dt.date(2025, 11, 24)
    assert services.process_open_orders(as_of=SATURDAY)["checked"] == 0  # no work while closed
    assert count(Fill) == 0
    market.set(stock, 101.0, as_of=MONDAY_OPEN)
    assert services.process_open_orders(as_of=MONDAY_OPEN)["filled"] == 1
    db.session.refresh(order)
    assert order.fill_price == D("101.0505")


def test_day_orders_expire_after_their_session(account, trader, market, calendar_clock):
    market.add("DAY", 100.0, as_of=MONDAY_OPEN)
    day = services.place_order(trader, account.id, symbol="DAY", side="buy", qty=1, type="limit", limit_price="90",
                               now=MONDAY_OPEN)
    gtc = services.place_order(trader, account.id, symbol="DAY", side="buy", qty=1, type="limit", limit_price="90",
                               tif="gtc", now=MONDAY_OPEN)
    assert services.snapshot_equity(dt.date(2025, 11, 24), now=MONDAY_OPEN + dt.timedelta(hours=7)) == 1
    assert db.session.get(Order, day.id).status == "expired"
    assert db.session.get(Order, gtc.id).status == "open"


def test_cancel_only_live_orders(account, trader, market):
    market.add("CXL", 100.0)
    order = services.place_order(trader, account.id, symbol="CXL", side="buy", qty=1, type="limit", limit_price="90")
    assert services.cancel_order(trader, order.id).status == "cancelled"
    with pytest.raises(InvalidInput, match="already cancelled"):
        services.cancel_order(trader, order.id)


def test_close_position_cancels_its_exit_legs(account, trader, market):
    stock = market.add("CLS", 100.0)
    services.place_order(trader, account.id, symbol="CLS", side="buy", qty=10, take_profit="120", stop_loss="90")
    order = services.close_position(trader, account.id, stock_id=stock.id)
    assert order.status == "filled" and order.role == "close"
    assert count(Position) == 0
    assert set(db.session.scalars(select(Order.status).where(Order.parent_id.is_not(None)))) == {"cancelled"}


def test_plan_limit_and_duplicate_names(trader):
    services.open_account(trader, "One")
    with pytest.raises(LimitReached, match="1 paper account"):
        services.open_account(trader, "Two")
    with pytest.raises(InvalidInput) as e:
        services.open_account(trader, "", 100)
    assert e.value.field == "name"
    with pytest.raises(InvalidInput) as e:
        services.open_account(trader, "X", "-5")
    assert e.value.field == "starting_balance"


def test_reset_account(account, trader, market):
    market.add("RST", 10.0)
    services.place_order(trader, account.id, symbol="RST", side="buy", qty=10)
    services.snapshot_equity(dt.date(2025, 11, 24))
    services.reset_account(trader, account.id, "50000")
    db.session.refresh(account)
    assert (account.cash, account.starting_balance, account.realised_pnl) == (D("50000"), D("50000"), D("0"))
    assert (count(Order), count(Fill), count(Position), count(EquitySnapshot)) == (0, 0, 0, 0)


def test_equity_snapshot_and_series(account, trader, market):
    stock = market.add("EQ", 100.0)
    services.place_order(trader, account.id, symbol="EQ", side="buy", qty=100)
    market.set(stock, 110.0)
    services.snapshot_equity(dt.date(2025, 11, 24))
    services.snapshot_equity(dt.date(2025, 11, 24))  # idempotent
    series = services.equity_series(account, "all")
    assert len(series) == 1
    # cash 100000 - 10005 + 100 x 110
    assert series[0]["equity"] == D("100995")
    assert series[0]["positions_value"] == D("11000")
    with pytest.raises(InvalidInput):
        services.equity_series(account, "forever")


def test_quotes_cycle_hook_checks_orders(account, trader, market):
    from app.market import hooks

    stock = market.add("HK", 100.0)
    services.place_order(trader, account.id, symbol="HK", side="buy", qty=1, type="limit", limit_price="95")
    market.set(stock, 94.0)
    errors = hooks.emit(hooks.after_quotes_cycle, "1m", run_id=1, version=2, as_of=None, session=None)
    assert errors == []
    assert count(Fill) == 1


def test_the_user_api_takes_a_user_never_an_account(account, trader, market):
    market.add("STR", 10.0)
    with pytest.raises(TypeError):
        services.place_order(account, account.id, symbol="STR", side="buy", qty=3)
    assert count(Order) == 0


def test_two_threads_cannot_overspend(app, trader, market):
    acct = services.open_account(trader, "Race", 100000, position_cap_pct=100)
    market.add("RA", 100.0)
    market.add("RB", 100.0)
    account_id, user_id = acct.id, trader.id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def buy(symbol):
        with app.app_context():
            from app.models import User

            user = db.session.get(User, user_id)
            barrier.wait()
            try:
                services.place_order(user, account_id, symbol=symbol, side="buy", qty=600)
                outcomes.append("filled")
            except InvalidInput as exc:
                outcomes.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=buy, args=(s,)) for s in ("RA", "RB")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(outcomes) == 2
    assert outcomes.count("filled") == 1, outcomes
    assert "Insufficient buying power" in [o for o in outcomes if o != "filled"][0]
    db.session.expire_all()
    cash = db.session.get(PaperAccount, account_id).cash
    assert cash == D("100000") - D("60030")
    assert count(Fill) == 1 and count(Order) == 1
