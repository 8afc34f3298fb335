"""Strategies: a backtest of one strategy over 500 symbols x 2,520 daily bars (10 years), with
the reference engine (`backtesting` 0.6, one run per symbol) on the same data as the peer; the
leaderboard rebuild for N tracked strategies (BENCH_STRATEGIES, default 1,000) x 4 timeframes
x 8 categories; the leaderboard fragment's server time from the cached ranking (200 and 304).

The reference engine is timed on BENCH_REF_SYMBOLS symbols (default 25) and scaled to 500
(it runs one symbol at a time, so its time is linear in the symbols)."""
from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
import warnings
from decimal import Decimal

import numpy as np

from bench._util import median_seconds, report

ENTRY = "crosses_above(sma(close, 20), sma(close, 50)) and rsi(14) < 70"
EXIT = "crosses_below(sma(close, 20), sma(close, 50))"


def _market(n_sym: int, n_bars: int, seed: int = 11):
    rng = np.random.default_rng(seed)
    c = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, (n_sym, n_bars)), axis=1))
    o = c * np.exp(rng.normal(0, 0.004, (n_sym, n_bars)))
    h = np.maximum(o, c) * (1 + rng.uniform(0, 0.01, (n_sym, n_bars)))
    lo = np.minimum(o, c) * (1 - rng.uniform(0, 0.01, (n_sym, n_bars)))
    v = rng.integers(100_000, 5_000_000, (n_sym, n_bars)).astype(float)
    return o, h, lo, c, v


def bench_backtest() -> None:
    from app.rules import SeriesData, compile_rule
    from app.strategies import engine

    n_sym, n_bars = 500, 2520
    o, h, lo, c, v = _market(n_sym, n_bars)
    cfg = engine.Config(sizing_pct=5, stop_loss_pct=8, take_profit_pct=20)
    entry_rule, exit_rule = compile_rule(ENTRY, "condition"), compile_rule(EXIT, "condition")
    out = {}

    def ours():
        data = SeriesData({"open": o, "high": h, "low": lo, "close": c, "volume": v})
        e = entry_rule.evaluate(data, "time_series")
        x = exit_rule.evaluate(data, "time_series")
        res = engine.run(o, h, lo, c, e, x, cfg)
        out["trades"] = res.n_trades
        return engine.compute_metrics(res)

    t_ours = median_seconds(ours, repeat=3)
    report("strategies", "backtest_500x2520_seconds", t_ours, "s", "<= 5 s")
    report("strategies", "backtest_500x2520_trades", out["trades"], "trades")

    # the peer: backtesting.py, one symbol at a time, same rules (signals precomputed by our
    # rule language, as in the agreement test), same sizing/stops/costs
    import pandas as pd
    from backtesting import Backtest, Strategy

    n_ref = int(os.environ.get("BENCH_REF_SYMBOLS", "25"))
    data = SeriesData({"open": o[:n_ref], "high": h[:n_ref], "low": lo[:n_ref], "close": c[:n_ref],
                       "volume": v[:n_ref]})
    ent = entry_rule.evaluate(data, "time_series")
    ext = exit_rule.evaluate(data, "time_series")
    idx = pd.bdate_range("2010-01-01", periods=n_bars)

    def reference():
        for i in range(n_ref):
            df = pd.DataFrame({"Open": o[i], "High": h[i], "Low": lo[i], "Close": c[i], "Volume": v[i]}, index=idx)
            e_i, x_i = ent[i].astype(float), ext[i].astype(float)

            class Ref(Strategy):
                sig_e, sig_x = e_i, x_i

                def init(self):
                    self.e = self.I(lambda: self.sig_e)
                    self.x = self.I(lambda: self.sig_x)

                def next(self):
                    close = self.data.Close[-1]
                    if not self.position and self.e[-1]:
                        self.buy(size=0.95, sl=close * 0.92, tp=close * 1.2)
                    elif self.position and self.x[-1]:
                        self.position.close()

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Backtest(df, Ref, cash=100_000, commission=0.0005, spread=0, finalize_trades=False).run()

    t_ref = median_seconds(reference, repeat=1, warmup=0) * n_sym / n_ref
    report("strategies", "reference_backtesting_py_500x2520_seconds", t_ref, "s",
           f"extrapolated from {n_ref} symbols")
    report("strategies", "backtest_speedup_vs_reference", t_ref / t_ours, "x")


def bench_leaderboard() -> None:
    from sqlalchemy import create_engine, text

    from app import create_app
    from app.config import normalise_database_url

    n = int(os.environ.get("BENCH_STRATEGIES", "1000"))
    tmp = tempfile.mkdtemp(prefix="bench-strategies-db-")
    url = os.environ.get("BENCH_DATABASE_URL")
    url = normalise_database_url(url) if url else f"sqlite:///{tmp}/bench.db"
    config = {"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url}
    schema = None
    if url.startswith("postgresql"):  # a private schema, dropped afterwards
        schema = f"bench_strategies_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        eng = create_engine(url)
        with eng.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        eng.dispose()
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True,
                                               "connect_args": {"options": f"-csearch_path={schema}"}}
    if os.environ.get("REDIS_URL"):
        config["REDIS_URL"] = os.environ["REDIS_URL"]
    app = create_app(config)
    try:
        _leaderboard(app, n)
    finally:
        if schema:
            eng = create_engine(url)
            with eng.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            eng.dispose()


def _leaderboard(app, n: int) -> None:
    from sqlalchemy import insert, select

    from app.auth.services import create_user
    from app.database import utcnow
    from app.extensions import db
    from app.models import EquitySnapshot, Fill, PaperAccount, Stock, Strategy, Trade
    from app.models.strategies import CATEGORIES
    from app.strategies import queries

    n_days, n_trades = 150, 45
    rng = np.random.default_rng(5)
    with app.app_context():
        db.drop_all()
        db.create_all()
        now = utcnow()
        user = create_user("bench-strategies@example.com", "Bench", "correct horse battery staple 42", confirmed=True)
        db.session.add(Stock(symbol="BNCH", name="Bench", active=True))
        db.session.commit()
        stock_id = db.session.scalar(select(Stock.id))
        db.session.execute(insert(PaperAccount), [
            {"owner_id": user.id, "name": f"Strategy #{i}", "starting_balance": Decimal(100000), "cash": Decimal(100000),
             "realised_pnl": 0, "commissions_paid": 0, "allow_short": False, "slippage_bps": Decimal(5),
             "commission": 0, "position_cap_pct": 100, "version": 0, "managed": True, "created_at": now}
            for i in range(n)])
        accounts = list(db.session.scalars(select(PaperAccount.id).order_by(PaperAccount.id)))
        db.session.execute(insert(Strategy), [
            {"owner_id": user.id, "name": f"Bench strategy {i}", "description": "", "category": CATEGORIES[i % 8],
             "universe_kind": "symbols", "universe": "BNCH", "entry_rule": "close > 0", "exit_rule": "close < 0",
             "sizing_pct": 10, "visibility": "public", "status": "tracking", "paper_account_id": a,
             "tracking_started_at": now - dt.timedelta(days=60 if i % 5 == 0 else 200), "clones_count": i % 13,
             "viewers_count": i % 150, "ratings_count": 0, "ratings_sum": 0, "created_at": now, "updated_at": now}
            for i, a in enumerate(accounts)])
        days = [now.date() - dt.timedelta(days=k) for k in range(n_days * 7 // 5, 0, -1)]
        days = [d for d in days if d.weekday() < 5][-n_days:]
        snaps = []
        trades = []
        fills = []
        for a in accounts:
            eq = 100000 * np.cumprod(1 + rng.normal(0.0005, 0.01, n_days))
            snaps += [{"account_id": a, "session": d, "cash": e, "positions_value": 0, "equity": e, "created_at": now}
                      for d, e in zip(days, eq.round(4), strict=True)]
            picks = rng.integers(0, n_days, n_trades)
            for k in picks:
                t = dt.datetime.combine(days[k], dt.time(15), tzinfo=dt.UTC)
                p = float(rng.normal(20, 100))
                trades.append({"account_id": a, "stock_id": stock_id, "side": "long", "qty": 10, "entry_price": 100,
                               "exit_price": 100 + p / 10, "entry_time": t - dt.timedelta(days=2), "exit_time": t,
                               "fees": 0, "pnl": round(p, 4), "pnl_pct": round(p / 10, 4), "holding_seconds": 172800})
                fills.append({"order_id": None, "account_id": a, "stock_id": stock_id, "side": "sell", "qty": 10,
                              "price": 100, "market_price": 100, "slippage": 0.5, "commission": 0, "ts": t})
        for table, rows in ((EquitySnapshot, snaps), (Trade, trades)):
            for i in range(0, len(rows), 20000):
                db.session.execute(insert(table), rows[i:i + 20000])
        fill_table = Fill.__table__
        if not fill_table.c.order_id.nullable:
            fills = []
        for i in range(0, len(fills), 20000):
            db.session.execute(insert(Fill), fills[i:i + 20000])
        db.session.commit()

        stats = {}

        def rebuild():
            stats.update(queries.rebuild_leaderboard())

        t = median_seconds(rebuild, repeat=3)
        report("strategies", f"leaderboard_rebuild_{n}_strategies_seconds", t, "s",
               "<= 10 s for 10,000 strategies" if n != 10000 else "<= 10 s")
        report("strategies", "leaderboard_rows_written", stats["rows"], "rows")

        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        url = "/leaderboard/rows?category=overall&timeframe=weekly"
        times = []
        etag = None
        for _ in range(60):
            t0 = time.perf_counter()
            r = client.get(url)
            times.append(time.perf_counter() - t0)
            etag = r.headers.get("ETag")
            assert r.status_code == 200
        times.sort()
        report("strategies", "leaderboard_fragment_p95_ms", times[int(len(times) * 0.95) - 1] * 1000, "ms", "<= 50 ms")
        report("strategies", "leaderboard_fragment_median_ms", statistics.median(times) * 1000, "ms")
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            r = client.get(url, headers={"If-None-Match": etag})
            times.append(time.perf_counter() - t0)
            assert r.status_code == 304
        report("strategies", "leaderboard_304_median_ms", statistics.median(times) * 1000, "ms", "<= 5 ms")
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def run() -> None:
    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-strategies-"))
    bench_backtest()
    bench_leaderboard()
