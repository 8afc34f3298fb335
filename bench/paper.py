"""Paper trading: the 1-minute order check over 50,000 open orders on 5,000 symbols, and
the account page of an account with 5,000 closed trades (server time)."""
from __future__ import annotations

import datetime as dt
import os
import random
import tempfile
import time
from decimal import Decimal

from bench._util import median_seconds, report


def run() -> None:
    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-paper-"))
    from sqlalchemy import insert, update

    from app import create_app
    from app.auth.services import create_user
    from app.database import utcnow
    from app.extensions import db
    from app.models import Order, PaperAccount, Snapshot, Stock, Trade
    from app.paper import services

    tmp = tempfile.mkdtemp(prefix="bench-paper-db-")
    from app.config import normalise_database_url

    url = os.environ.get("BENCH_DATABASE_URL")  # a scratch database: its tables are dropped
    config = {"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": normalise_database_url(url) if url
              else f"sqlite:///{tmp}/bench.db", "MARKET_CLOCK": "always-open"}
    if os.environ.get("REDIS_URL"):
        config["REDIS_URL"] = os.environ["REDIS_URL"]
    app = create_app(config)
    rng = random.Random(7)
    n_symbols, n_orders, n_accounts = 5000, 50000, 1000
    with app.app_context():
        db.drop_all()
        db.create_all()
        now = utcnow()
        db.session.execute(insert(Stock), [{"symbol": f"S{i:04d}", "name": f"Stock {i}", "active": True,
                                            "created_at": now, "updated_at": now} for i in range(n_symbols)])
        stock_ids = [r[0] for r in db.session.execute(db.select(Stock.id).order_by(Stock.id))]
        prices = {sid: 20 + rng.random() * 200 for sid in stock_ids}
        db.session.execute(insert(Snapshot), [{"stock_id": sid, "price": p, "as_of": now, "updated_at": now,
                                               "source": "bench", "volume": 0} for sid, p in prices.items()])
        user = create_user("bench@example.com", "Bench", "correct horse battery staple 42", confirmed=True)
        db.session.commit()
        db.session.execute(insert(PaperAccount), [
            {"owner_id": user.id, "name": f"A{i}", "starting_balance": Decimal("1000000000"),
             "cash": Decimal("1000000000"), "realised_pnl": 0, "commissions_paid": 0, "allow_short": False,
             "slippage_bps": Decimal("5"), "commission": 0, "position_cap_pct": 100, "version": 0,
             "created_at": now} for i in range(n_accounts)])
        account_ids = [r[0] for r in db.session.execute(db.select(PaperAccount.id))]
        rows = []
        for i in range(n_orders):
            sid = stock_ids[i % n_symbols]
            p = prices[sid]
            kind = "limit" if i % 2 else "stop"
            # buy limits below and buy stops above the price: nothing triggers at first
            level = Decimal(f"{p * (0.95 if kind == 'limit' else 1.05):.4f}")
            rows.append({"account_id": account_ids[i % n_accounts], "stock_id": sid, "side": "buy",
                         "qty": 1 + i % 20, "type": kind, "limit_price": level if kind == "limit" else None,
                         "stop_price": level if kind == "stop" else None, "stop_triggered": False, "tif": "gtc",
                         "status": "open", "role": "entry", "source": "bench", "created_at": now,
                         "updated_at": now})
        db.session.execute(insert(Order), rows)
        db.session.commit()

        def check():
            res = services.process_open_orders()
            assert res["checked"] == n_orders and res["filled"] == 0, res

        report("paper", "order check, 50k open orders / 5k symbols, no fills", median_seconds(check, repeat=5),
               "s", "<= 2 s")
        # move 5 % of the symbols through their levels: ~2,500 orders fill in one pass
        moved = stock_ids[: n_symbols // 20]
        for sid in moved:
            db.session.execute(update(Snapshot).where(Snapshot.stock_id == sid).values(price=prices[sid] * 0.9))
        db.session.commit()
        started = time.perf_counter()
        res = services.process_open_orders()
        elapsed = time.perf_counter() - started
        report("paper", f"order check with {res['filled']} fills (bulk writes)", elapsed, "s", "<= 2 s")

        # ---- account page with 5,000 trades
        user = create_user("page@example.com", "Page", "correct horse battery staple 42", confirmed=True)
        db.session.commit()
        acct = services.open_account(user, "Page", 100000)
        t0 = now - dt.timedelta(days=400)
        trades = []
        for i in range(5000):
            entry = Decimal(f"{50 + rng.random() * 50:.4f}")
            exit_ = Decimal(f"{float(entry) * (1 + rng.uniform(-0.1, 0.12)):.4f}")
            pnl = (exit_ - entry) * 10
            trades.append({"account_id": acct.id, "stock_id": stock_ids[i % 50], "side": "long", "qty": 10,
                           "entry_price": entry, "exit_price": exit_, "entry_time": t0 + dt.timedelta(hours=2 * i),
                           "exit_time": t0 + dt.timedelta(hours=2 * i + 1), "fees": 0, "pnl": pnl,
                           "pnl_pct": (pnl / (entry * 10) * 100).quantize(Decimal("0.0001")), "r_multiple": None,
                           "holding_seconds": 3600})
        db.session.execute(insert(Trade), trades)
        db.session.commit()
        for sid in stock_ids[100:110]:
            services.place_order(acct, symbol=f"S{stock_ids.index(sid):04d}", side="buy", qty=10)
        account_id = acct.id
        user_id = user.get_id()
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = user_id
        s["_fresh"] = True
    url = f"/paper/{account_id}"
    assert client.get(url).status_code == 200
    report("paper", "account page, 5,000 trades (server time)", median_seconds(lambda: client.get(url), repeat=15) * 1000,
           "ms", "<= 100 ms")
    live = f"/paper/{account_id}/live"
    report("paper", "live fragment (positions marked to market)", median_seconds(lambda: client.get(live), repeat=15) * 1000,
           "ms", None)
