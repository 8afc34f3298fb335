"""Test data builders, the one place tests make users, stocks, prices, bars, universes,
accounts and strategies. They go through the real services where one exists, else the models.

Users: user, admin, user_with_2fa, on_plan. Market: stock (a stock with a snapshot quote),
set_price, tick, Market (the `market` fixture), sessions, daily_bars, Bars (the `bars`
fixture), universe and universe_bars (a hand-made universe with hand-computable values).
Trading: account, strategy. Fixtures of the same names live in tests/conftest.py.
"""
from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

import numpy as np
import pyotp

from app.auth import twofactor
from app.auth.services import create_user
from app.database import utcnow
from app.extensions import db
from app.models import Bar, ScanRun, Snapshot, Stock, StockIndicator, Subscription, User

PASSWORD = "correct horse battery staple 42"
_seq = itertools.count(1)


def user(email: str | None = None, *, password: str = PASSWORD, role: str = "user", confirmed: bool = True,
         display_name: str | None = None, active: bool = True) -> User:
    n = next(_seq)
    u = create_user(email or f"user{n}@example.com", display_name or f"Trader {n}", password, role=role,
                    confirmed=confirmed)
    u.active = active
    db.session.commit()
    return u


def admin(**kwargs) -> User:
    return user(role="admin", **kwargs)


def user_with_2fa(**kwargs) -> tuple[User, str, list[str]]:
    """A user with TOTP on: returns (user, base32 secret, backup codes)."""
    u = user(**kwargs)
    tf = twofactor.begin_setup(u)
    secret = twofactor.secret_of(tf)
    codes = twofactor.confirm_setup(u, pyotp.TOTP(secret).now())
    # Let tests use the current code again (setup consumed this time step).
    u.two_factor.last_used_step = None
    db.session.commit()
    return u, secret, codes


def on_plan(u: User, plan: str) -> User:
    """Put the user on a paid plan ("basic", "pro", ...) with an active subscription."""
    sub = db.session.scalar(db.select(Subscription).where(Subscription.user_id == u.id))
    if sub is None:
        sub = Subscription(user_id=u.id)
        db.session.add(sub)
    sub.plan, sub.status = plan, "active"
    db.session.commit()
    db.session.refresh(u)
    return u


# --- Market: stocks with a live quote -------------------------------------------------------

_symbols = itertools.count(1)


def stock(symbol: str | None = None, price: float = 100.0, as_of: dt.datetime | None = None, *,
          prev: float | None = None, change_pct: float | None = 0.0, rel_volume: float | None = 1.0,
          volume: int = 1000, rsi14: float | None = None, sector: str = "Technology",
          exchange: str = "NYSE") -> Stock:
    """An active stock with a snapshot quote at `price` (as of now unless given), the previous
    cycle's price `prev`, and optionally an RSI(14) value."""
    symbol = symbol or f"T{next(_symbols)}"
    s = Stock(symbol=symbol, name=f"{symbol} Inc.", exchange=exchange, sector=sector, active=True)
    db.session.add(s)
    db.session.flush()
    when = as_of or utcnow()
    db.session.add(Snapshot(stock_id=s.id, price=price, prev_price=prev, change_pct=change_pct,
                            rel_volume=rel_volume, volume=volume, as_of=when, updated_at=when, source="test"))
    if rsi14 is not None:
        db.session.add(StockIndicator(stock_id=s.id, rsi14=rsi14))
    db.session.commit()
    return s


def set_price(s: Stock, price: float, as_of: dt.datetime | None = None) -> None:
    """Move the quote within the same cycle (the previous cycle's values stay)."""
    snap = db.session.get(Snapshot, s.id)
    snap.price = price
    snap.as_of = as_of or utcnow()
    db.session.commit()


def tick(s: Stock, price: float, **values) -> None:
    """A new quote cycle: the current values become the previous ones, then `price` (and any
    other snapshot column in `values`) is the new quote."""
    snap = db.session.get(Snapshot, s.id)
    snap.prev_price, snap.prev_change_pct, snap.prev_volume = snap.price, snap.change_pct, snap.volume
    snap.price = price
    for k, v in values.items():
        setattr(snap, k, v)
    snap.prev_as_of = snap.as_of
    snap.as_of = snap.updated_at = utcnow()
    db.session.commit()


class Market:
    """The `market` fixture: market.add(...) = stock(...), market.set = set_price, market.tick = tick."""

    add = staticmethod(stock)
    set = staticmethod(set_price)
    tick = staticmethod(tick)


# --- Daily bars ------------------------------------------------------------------------------

def sessions(n: int, end: dt.date | None = None) -> list[dt.date]:
    """n weekdays ending at ``end`` (default: yesterday)."""
    day = end or (utcnow().date() - dt.timedelta(days=1))
    out = []
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day -= dt.timedelta(days=1)
    return out[::-1]


def daily_bars(symbol: str | None = None, closes: Sequence[float] | None = None, n: int = 300, seed: int = 0,
               end: dt.date | None = None, opens=None, highs=None, lows=None) -> Stock:
    """A stock with one daily bar per weekday up to `end` (default yesterday) and a snapshot at
    the last close. `closes` default to a seeded random walk of n bars; opens default to the
    previous close, highs/lows to 1% around the body."""
    symbol = symbol or f"T{next(_symbols)}"
    if closes is None:
        rng = np.random.default_rng(seed)
        closes = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.02, n)))
    closes = np.asarray(closes, dtype=float)
    opens = np.asarray(opens if opens is not None else np.r_[closes[0], closes[:-1]], dtype=float)
    highs = np.asarray(highs if highs is not None else np.maximum(opens, closes) * 1.01, dtype=float)
    lows = np.asarray(lows if lows is not None else np.minimum(opens, closes) * 0.99, dtype=float)
    days = sessions(closes.size, end)
    s = Stock(symbol=symbol, name=f"{symbol} Inc.", exchange="NYSE", active=True)
    db.session.add(s)
    db.session.flush()
    db.session.add_all([Bar(stock_id=s.id, interval="1d", ts=dt.datetime.combine(d, dt.time(), tzinfo=dt.UTC),
                            open=float(o), high=float(h), low=float(lo), close=float(c), volume=1_000_000)
                        for d, o, h, lo, c in zip(days, opens, highs, lows, closes, strict=True)])
    db.session.add(Snapshot(stock_id=s.id, price=float(closes[-1]), as_of=utcnow(), source="test", volume=0))
    db.session.commit()
    return s


class Bars:
    """The `bars` fixture: bars.add(...) = daily_bars(...)."""

    add = staticmethod(daily_bars)


def finished_daily_scan(provider: str = "test") -> ScanRun:
    """A finished daily ScanRun: what the daily-bar builder keys its history on."""
    run = ScanRun(kind="1d", provider=provider, status="succeeded", started_at=utcnow(), finished_at=utcnow())
    db.session.add(run)
    db.session.commit()
    return run


# --- A hand-made universe (screener, watchlists) -------------------------------------------
# Values chosen so every filter and operator has an answer computable by hand.

AS_OF = dt.datetime(2026, 11, 27, 19, 31, 5, tzinfo=dt.UTC)  # 14:31:05 ET
SESSION = dt.date(2026, 11, 27)

# symbol: stock, snapshot, indicator values
ROWS = {
    "AAA": dict(sector="Technology", industry="Software", exchange="NASDAQ", price=10.0, change=0.4762,
                change_pct=5.0, volume=1_000_000, avg_volume=500_000.0, rel_volume=2.0, market_cap=1e9, gap_pct=4.0,
                week52_high=10.0, week52_low=5.0, rsi14=75.0, sma20=9.0, sma50=8.0, sma200=12.0, atr14=0.5),
    "BBB": dict(sector="Technology", industry="Semiconductors", exchange="NYSE", price=50.0, change=-1.0204,
                change_pct=-2.0, volume=200_000, avg_volume=400_000.0, rel_volume=0.5, market_cap=5e10, gap_pct=-1.0,
                week52_high=60.0, week52_low=40.0, rsi14=45.0, sma20=51.0, sma50=49.0, sma200=45.0, atr14=1.0),
    "CCC": dict(sector="Energy", industry="Oil & Gas", exchange="NYSE", price=100.0, change=0.0, change_pct=0.0,
                volume=3_000_000, avg_volume=1_000_000.0, rel_volume=3.0, market_cap=2e11, gap_pct=0.0,
                week52_high=120.0, week52_low=100.0, rsi14=25.0, sma20=105.0, sma50=110.0, sma200=90.0, atr14=4.0),
    "DDD": dict(sector="Health Care", industry="Biotechnology", exchange="NASDAQ", price=0.5, change=-0.0556,
                change_pct=-10.0, volume=5_000_000, avg_volume=1_000_000.0, rel_volume=5.0, market_cap=5e7,
                gap_pct=-5.0, week52_high=2.0, week52_low=0.5, rsi14=20.0, sma20=0.6, sma50=0.8, sma200=1.0,
                atr14=0.05),
    # missing data: no indicators, no rel volume, market cap only on the stock row
    "EEE": dict(sector="Energy", industry="Utilities", exchange="NASDAQ", price=20.0, change=0.2956,
                change_pct=1.5, volume=0, avg_volume=None, rel_volume=None, market_cap=None, stock_cap=3e9,
                gap_pct=None, week52_high=None, week52_low=None),
}
INDICATOR_COLS = ("rsi14", "sma20", "sma50", "sma200", "atr14")


def universe(inactive: bool = True, bars: bool = False) -> dict[str, Stock]:
    """The ROWS stocks with snapshots as of AS_OF (plus ZZZ, inactive, unless inactive=False);
    bars=True adds daily history (universe_bars)."""
    stocks = {}
    for sym, r in ROWS.items():
        s = Stock(symbol=sym, name=f"{sym.title()} Corp", exchange=r["exchange"], sector=r["sector"],
                  industry=r["industry"], market_cap=r.get("stock_cap"), active=True)
        db.session.add(s)
        db.session.flush()
        db.session.add(Snapshot(stock_id=s.id, price=r["price"], change=r["change"], change_pct=r["change_pct"],
                                volume=r["volume"], avg_volume=r["avg_volume"], rel_volume=r["rel_volume"],
                                market_cap=r["market_cap"], gap_pct=r["gap_pct"], week52_high=r["week52_high"],
                                week52_low=r["week52_low"], prev_close=r["price"] - r["change"], open=r["price"],
                                high=r["price"], low=r["price"], as_of=AS_OF, session=SESSION, source="simulated"))
        if "rsi14" in r:
            db.session.add(StockIndicator(stock_id=s.id, **{k: r[k] for k in INDICATOR_COLS}))
        stocks[sym] = s
    if inactive:
        s = Stock(symbol="ZZZ", name="Delisted Inc", exchange="NYSE", sector="Technology", active=False)
        db.session.add(s)
        db.session.flush()
        db.session.add(Snapshot(stock_id=s.id, price=10.0, change_pct=50.0, volume=10, as_of=AS_OF, source="simulated"))
        stocks["ZZZ"] = s
    db.session.commit()
    if bars:
        universe_bars(stocks)
    return stocks


def universe_bars(stocks: dict[str, Stock], n: int = 80) -> None:
    """n daily bars per active stock of the universe (a trend ending near the snapshot price),
    the last one on the session before SESSION, plus a finished daily ScanRun."""
    rows = []
    for i, (sym, s) in enumerate(sorted(stocks.items())):
        if sym == "ZZZ":
            continue
        price = ROWS[sym]["price"]
        rng = np.random.default_rng(i)
        closes = price * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
        closes = closes / closes[-1] * price * 0.99
        for k in range(n):
            day = dt.datetime(2026, 11, 26, tzinfo=dt.UTC) - dt.timedelta(days=n - 1 - k)
            c = float(closes[k])
            rows.append({"stock_id": s.id, "interval": "1d", "ts": day, "open": c, "high": c * 1.01,
                         "low": c * 0.99, "close": c, "volume": 1000 + k})
    db.session.execute(Bar.__table__.insert(), rows)
    finished_daily_scan(provider="simulated")


# --- Trading: paper accounts and strategies -------------------------------------------------

def account(owner: User, name: str = "Main", balance: float = 100000, **options):
    """A paper account through the ledger's service (options: allow_short, slippage_bps, ...)."""
    from app.paper import services

    return services.open_account(owner, name, balance, **options)


SMA_CROSS = dict(name="SMA 5/20", category="momentum", universe="AAA, BBB",
                 entry_rule="crosses_above(sma(close, 5), sma(close, 20))",
                 exit_rule="crosses_below(sma(close, 5), sma(close, 20))",
                 sizing_pct="20", stop_loss_pct="", take_profit_pct="", visibility="public")


def strategy(owner: User, **fields):
    """A draft strategy through the service: an SMA 5/20 cross on AAA, BBB unless `fields`
    say otherwise (the universe's stocks must exist: see daily_bars)."""
    from app.strategies import services

    return services.create_strategy(owner, **{**SMA_CROSS, **fields})
