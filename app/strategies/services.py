"""Strategies: all business logic and writes (create, edit, backtest, track, clone, rate,
views). No request/flash/session here; routes call one function each.

Owner scoping: :func:`get_owned` for writes (another user's id -> NotFound);
:func:`get_visible` for reads (public, unlisted by direct link, private only for its owner).
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import re
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.billing.plans import enforce_limit, plan_for
from app.database import utcnow
from app.errors import InvalidInput, NotFound, parse_id
from app.extensions import db
from app.models.strategies import (
    ARCHIVED,
    BACKTESTED,
    CATEGORIES,
    DRAFT,
    TRACKING,
    VISIBILITIES,
    Backtest,
    Strategy,
    StrategyRating,
    StrategyView,
)
from app.rules import TIME_SERIES, RuleError, SeriesData, compile_rule
from app.strategies import data as sdata
from app.strategies import engine

log = logging.getLogger(__name__)

MAX_SYMBOLS = 500
SYMBOL_RE = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
MAX_RANGE_YEARS = 30

TEMPLATES: dict[str, dict[str, Any]] = {
    "sma_cross": {"label": "SMA cross", "category": "trend_following",
                  "description": "Buy when the 50-day average crosses above the 200-day; sell on the cross back.",
                  "entry_rule": "crosses_above(sma(close, 50), sma(close, 200))",
                  "exit_rule": "crosses_below(sma(close, 50), sma(close, 200))",
                  "sizing_pct": 10, "stop_loss_pct": 8, "take_profit_pct": None},
    "rsi_reversion": {"label": "RSI mean reversion", "category": "mean_reversion",
                      "description": "Buy oversold dips above the long-term trend; sell when RSI recovers.",
                      "entry_rule": "rsi(14) < 30 and close > sma(close, 200)",
                      "exit_rule": "rsi(14) > 55", "sizing_pct": 10, "stop_loss_pct": 6, "take_profit_pct": 10},
    "breakout_52w": {"label": "52-week breakout", "category": "breakout",
                     "description": "Buy a close at a new 52-week high on heavy volume.",
                     "entry_rule": "close >= highest(high, 252) and volume > 1.5 * avg(volume, 20)",
                     "exit_rule": "close < sma(close, 50)", "sizing_pct": 10, "stop_loss_pct": 7,
                     "take_profit_pct": 20},
    "gap_and_go": {"label": "Gap and go", "category": "momentum",
                   "description": "Buy a gap up of 3 % that holds into the close on strong volume.",
                   "entry_rule": "gap_pct > 3 and close > open and volume > 2 * avg(volume, 20)",
                   "exit_rule": "close < ref(low, 1)", "sizing_pct": 10, "stop_loss_pct": 4, "take_profit_pct": 8},
    "trend_atr": {"label": "Trend following with ATR stop", "category": "trend_following",
                  "description": "Ride the trend above the 20/50 averages; leave on a close 2 ATR below the 20-day high.",
                  "entry_rule": "close > sma(close, 20) and sma(close, 20) > sma(close, 50)",
                  "exit_rule": "close < highest(close, 20) - 2 * atr(14)", "sizing_pct": 10,
                  "stop_loss_pct": 10, "take_profit_pct": None},
}


# ===================================================================== lookups
def _int_id(value: Any) -> int:
    try:
        return parse_id(value)
    except ValueError:
        raise NotFound("No such strategy.") from None


def get_owned(user, strategy_id: Any) -> Strategy:
    strategy = db.session.scalar(select(Strategy).where(Strategy.id == _int_id(strategy_id),
                                                        Strategy.owner_id == user.id))
    if strategy is None:
        raise NotFound("No such strategy.")
    return strategy


def get_visible(user, strategy_id: Any) -> Strategy:
    """Public and unlisted strategies (unlisted: by direct link), or the user's own."""
    strategy = db.session.get(Strategy, _int_id(strategy_id))
    if strategy is None or (strategy.owner_id != getattr(user, "id", None) and strategy.visibility == "private"):
        raise NotFound("No such strategy.")
    return strategy


def list_mine(user) -> list[Strategy]:
    """The user's strategies, their clones first-class (with ``cloned_from`` loaded)."""
    return list(db.session.scalars(select(Strategy).where(Strategy.owner_id == user.id)
                                   .order_by(Strategy.updated_at.desc(), Strategy.id.desc())))


# ===================================================================== validation
def _pct(value: Any, field: str, label: str, *, lo: float, hi: float, optional: bool) -> float | None:
    if value in (None, ""):
        if optional:
            return None
        raise InvalidInput(f"{label} is required.", field=field)
    try:
        x = float(str(value).replace("%", "").strip())
    except ValueError:
        raise InvalidInput(f"{label} must be a number.", field=field) from None
    if not math.isfinite(x) or x < lo or x > hi:
        raise InvalidInput(f"{label} must be between {lo:g} and {hi:g} %.", field=field)
    return x


def parse_symbols(text: str) -> list[str]:
    raw = [s.strip().upper() for s in re.split(r"[\s,;]+", text or "") if s.strip()]
    seen: list[str] = []
    for s in raw:
        if not SYMBOL_RE.match(s):
            raise InvalidInput(f"“{s[:12]}” is not a symbol.", field="universe")
        if s not in seen:
            seen.append(s)
    if not seen:
        raise InvalidInput("List at least one symbol (comma-separated).", field="universe")
    if len(seen) > MAX_SYMBOLS:
        raise InvalidInput(f"At most {MAX_SYMBOLS} symbols.", field="universe")
    known = {s for _, s in sdata.resolve_symbols(seen)}
    unknown = [s for s in seen if s not in known]
    if unknown:
        raise InvalidInput(f"Unknown symbol{'s' if len(unknown) > 1 else ''}: {', '.join(unknown[:8])}.",
                           field="universe")
    return seen


def _rule(text: str, field: str, label: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"Write the {label.lower()} in the rule language.", field=field)
    try:
        compile_rule(text, expect="condition")
    except RuleError as exc:
        raise InvalidInput(f"{label}: {exc}", field=field) from None
    return text


UNIVERSE_KINDS = ("symbols", "watchlist", "screen")


def _symbols_of(stock_ids) -> list[str]:
    from app.models.market import Stock

    ids = list(stock_ids)
    if not ids:
        return []
    names = dict(db.session.execute(select(Stock.id, Stock.symbol).where(Stock.id.in_(ids))).all())
    return [names[i] for i in ids if i in names][:MAX_SYMBOLS]


def _screen_ids(screen, user_id: int) -> list[int] | None:
    """The screen's stock ids as the strategy's owner may see them (None: not readable --
    another user's watchlist is never resolved through their screen)."""
    from app.screener import services as screener

    return screener.screen_stock_ids(user_id, screen)


def universe_symbols(strategy: Strategy) -> list[str]:
    """The symbols the strategy trades now: its list, its watchlist's items, or its saved
    screen's current members (the last list seen when the watchlist/screen is gone)."""
    if strategy.universe_kind == "watchlist" and strategy.watchlist_id:
        from app.watchlists.services import watchlist_stock_ids

        return _symbols_of(watchlist_stock_ids(strategy.watchlist_id))
    if strategy.universe_kind == "screen" and strategy.screen is not None:
        ids = _screen_ids(strategy.screen, strategy.owner_id)
        if ids is not None:
            return _symbols_of(ids)
    return strategy.symbols


def _universe(user, fields: dict[str, Any]) -> dict[str, Any]:
    kind = fields.get("universe_kind") or "symbols"
    if kind not in UNIVERSE_KINDS:
        raise InvalidInput("The universe is a list of symbols, a watchlist or a saved screen.", field="universe_kind")
    if kind == "symbols":
        return {"universe_kind": kind, "universe": ",".join(parse_symbols(fields.get("universe") or "")),
                "watchlist_id": None, "screen_id": None}
    if kind == "watchlist":
        from app.watchlists.services import get_owned as get_watchlist
        from app.watchlists.services import watchlist_stock_ids

        try:
            wl = get_watchlist(user, fields.get("watchlist_id"))
        except NotFound:
            raise InvalidInput("Choose one of your watchlists.", field="watchlist_id") from None
        symbols = _symbols_of(watchlist_stock_ids(wl))
        if not symbols:
            raise InvalidInput(f"The watchlist “{wl.name}” is empty.", field="watchlist_id")
        return {"universe_kind": kind, "universe": ",".join(symbols), "watchlist_id": wl.id, "screen_id": None}
    from app.screener.services import get_screen

    try:
        screen = get_screen(user, fields.get("screen_id"), allow_public=True)
    except NotFound:
        raise InvalidInput("Choose one of your saved screens (or a public one).", field="screen_id") from None
    symbols = _symbols_of(_screen_ids(screen, user.id) or [])
    if not symbols:
        raise InvalidInput(f"The screen “{screen.name}” selects no stock right now.", field="screen_id")
    return {"universe_kind": kind, "universe": ",".join(symbols), "watchlist_id": None, "screen_id": screen.id}


def clean_fields(fields: dict[str, Any], user=None) -> dict[str, Any]:
    """Validate and normalise a strategy's editable fields (InvalidInput names the field)."""
    name = (fields.get("name") or "").strip()
    if not name or len(name) > 80:
        raise InvalidInput("Give the strategy a name of 1 to 80 characters.", field="name")
    description = (fields.get("description") or "").strip()
    if len(description) > 4000:
        raise InvalidInput("The description is limited to 4,000 characters.", field="description")
    category = fields.get("category") or "custom"
    if category not in CATEGORIES:
        raise InvalidInput("Choose a category from the list.", field="category")
    visibility = fields.get("visibility") or "private"
    if visibility not in VISIBILITIES:
        raise InvalidInput("Visibility must be private, unlisted or public.", field="visibility")
    universe = _universe(user, fields)
    return {
        "name": name, "description": description, "category": category, "visibility": visibility, **universe,
        "entry_rule": _rule(fields.get("entry_rule"), "entry_rule", "Entry rule"),
        "exit_rule": _rule(fields.get("exit_rule"), "exit_rule", "Exit rule"),
        "sizing_pct": _pct(fields.get("sizing_pct"), "sizing_pct", "Position size", lo=1, hi=100, optional=False),
        "stop_loss_pct": _pct(fields.get("stop_loss_pct"), "stop_loss_pct", "Stop-loss", lo=0.1, hi=90,
                              optional=True),
        "take_profit_pct": _pct(fields.get("take_profit_pct"), "take_profit_pct", "Take-profit", lo=0.1, hi=1000,
                                optional=True),
        "benchmark": _benchmark(fields.get("benchmark")),
    }


def _benchmark(value: Any) -> str:
    from app.market.instruments import BENCHMARKS, DEFAULT_BENCHMARK

    if value in (None, ""):
        return DEFAULT_BENCHMARK
    if value not in BENCHMARKS:
        raise InvalidInput("Choose SPY, QQQ, IWM or the sector ETF of the universe as the benchmark.",
                           field="benchmark")
    return value


# ===================================================================== writes
def create_strategy(user, **fields: Any) -> Strategy:
    values = clean_fields(fields, user)
    strategy = Strategy(owner_id=user.id, status=DRAFT, **values)
    db.session.add(strategy)
    db.session.commit()
    return strategy


def update_strategy(user, strategy_id: Any, **fields: Any) -> Strategy:
    strategy = get_owned(user, strategy_id)
    values = clean_fields(fields, user)
    keys = ["universe_kind", "watchlist_id", "screen_id", "entry_rule", "exit_rule", "sizing_pct", "stop_loss_pct",
            "take_profit_pct"] + (["universe"] if values["universe_kind"] == "symbols" else [])
    rules_changed = any(getattr(strategy, k) != values[k] for k in keys)
    if rules_changed and strategy.status == TRACKING:
        raise InvalidInput("Stop tracking before changing the rules, universe or sizing: forward figures "
                           "must come from one set of rules.", field="entry_rule")
    for k, v in values.items():
        setattr(strategy, k, v)
    if rules_changed and strategy.status == BACKTESTED:
        strategy.status = DRAFT  # the old backtest no longer describes these rules
    db.session.commit()
    _bump_board()
    return strategy


def archive_strategy(user, strategy_id: Any) -> Strategy:
    strategy = get_owned(user, strategy_id)
    strategy.status = ARCHIVED
    db.session.commit()
    _bump_board()
    return strategy


def clone_strategy(user, strategy_id: Any) -> tuple[Strategy, bool]:
    """A private draft copy for ``user``; a second clone returns the first. Returns
    (clone, created). Cloning your own strategy is refused (it would count itself)."""
    original = get_visible(user, strategy_id)
    if original.owner_id == user.id:
        raise InvalidInput("This is your own strategy: edit it, or create a new one from it.", field="strategy")
    existing = db.session.scalar(select(Strategy).where(Strategy.owner_id == user.id,
                                                        Strategy.cloned_from_id == original.id))
    if existing is not None:
        return existing, False
    # the cloner may not see the original's watchlist or screen: the copy gets today's symbols
    copy = Strategy(owner_id=user.id, name=f"{original.name} (clone)"[:80], description=original.description,
                    category=original.category, universe_kind="symbols",
                    universe=",".join(universe_symbols(original)) or original.universe,
                    entry_rule=original.entry_rule, exit_rule=original.exit_rule, sizing_pct=original.sizing_pct,
                    stop_loss_pct=original.stop_loss_pct, take_profit_pct=original.take_profit_pct,
                    benchmark=original.benchmark, visibility="private", status=DRAFT, cloned_from_id=original.id)
    db.session.add(copy)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent clone by the same user won
        db.session.rollback()
        return db.session.scalar(select(Strategy).where(Strategy.owner_id == user.id,
                                                        Strategy.cloned_from_id == original.id)), False
    db.session.execute(update(Strategy).where(Strategy.id == original.id)
                       .values(clones_count=Strategy.clones_count + 1))
    db.session.commit()
    _bump_board()
    return copy, True


def rate_strategy(user, strategy_id: Any, stars: Any, review: str = "") -> StrategyRating:
    """Rate 1-5 with an optional review; one per user (editable); never your own."""
    strategy = get_visible(user, strategy_id)
    if strategy.owner_id == user.id:
        raise InvalidInput("You cannot rate your own strategy.", field="stars")
    try:
        n = int(str(stars).strip())
    except (TypeError, ValueError):
        raise InvalidInput("Choose 1 to 5 stars.", field="stars") from None
    if not 1 <= n <= 5:
        raise InvalidInput("Choose 1 to 5 stars.", field="stars")
    review = (review or "").strip()
    if len(review) > 2000:
        raise InvalidInput("Reviews are limited to 2,000 characters.", field="review")
    rating = db.session.scalar(select(StrategyRating).where(StrategyRating.strategy_id == strategy.id,
                                                            StrategyRating.user_id == user.id))
    if rating is None:
        rating = StrategyRating(strategy_id=strategy.id, user_id=user.id, stars=n, review=review)
        db.session.add(rating)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            return rate_strategy(user, strategy_id, stars, review)
        db.session.execute(update(Strategy).where(Strategy.id == strategy.id)
                           .values(ratings_count=Strategy.ratings_count + 1, ratings_sum=Strategy.ratings_sum + n))
    else:
        delta = n - rating.stars
        rating.stars, rating.review = n, review
        if delta:
            db.session.execute(update(Strategy).where(Strategy.id == strategy.id)
                               .values(ratings_sum=Strategy.ratings_sum + delta))
    db.session.commit()
    _bump_board()
    return rating


def ratings(strategy: Strategy, limit: int = 50) -> list[StrategyRating]:
    return list(db.session.scalars(select(StrategyRating).where(StrategyRating.strategy_id == strategy.id)
                                   .order_by(StrategyRating.updated_at.desc()).limit(limit)))


def my_rating(user, strategy: Strategy) -> StrategyRating | None:
    return db.session.scalar(select(StrategyRating).where(StrategyRating.strategy_id == strategy.id,
                                                          StrategyRating.user_id == user.id))


def record_view(user, strategy: Strategy, today: dt.date | None = None) -> bool:
    """Count a unique signed-in viewer (never the owner): each user once per strategy, on
    the first day they open it (the row's ``day``). A Redis SET NX guards the request path:
    at most one database check per viewer and strategy while the key lives."""
    if user is None or not getattr(user, "id", None) or user.id == strategy.owner_id:
        return False
    from app.redis_store import get_redis

    today = today or utcnow().date()
    key = f"strategies:viewer:{strategy.id}:{user.id}"
    try:
        if not get_redis().set(key, 1, nx=True, ex=30 * 86400):
            return False
    except Exception:  # Redis down: fall through to the database
        log.warning("view guard unavailable", exc_info=True)
    seen = db.session.scalar(select(func.count()).select_from(StrategyView).where(
        StrategyView.strategy_id == strategy.id, StrategyView.user_id == user.id))
    if seen:
        return False
    db.session.add(StrategyView(strategy_id=strategy.id, user_id=user.id, day=today))
    try:
        db.session.flush()
    except IntegrityError:  # the same first view in a parallel request
        db.session.rollback()
        return False
    db.session.execute(update(Strategy).where(Strategy.id == strategy.id)
                       .values(viewers_count=Strategy.viewers_count + 1))
    db.session.commit()
    return True


# ===================================================================== backtests
def backtests_this_month(user, now: dt.datetime | None = None) -> int:
    now = now or utcnow()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return db.session.scalar(select(func.count(Backtest.id)).where(Backtest.owner_id == user.id,
                                                                   Backtest.created_at >= start)) or 0


def _date(value: Any, field: str, label: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{label} must be a date (YYYY-MM-DD).", field=field) from None


def _years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier; 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def start_backtest(user, strategy_id: Any, *, start: Any = None, end: Any = None, capital: Any = 100000,
                   slippage_bps: Any = 5, commission: Any = 0) -> Backtest:
    """Check the plan limit, record a Backtest and queue it as a job with a JobRun."""
    from app.jobs import start_job
    run_backtest = "app.strategies.tasks.run_backtest"  # by dotted path: tasks import these services

    strategy = get_owned(user, strategy_id)
    d0, d1 = _date(start, "start", "Start"), _date(end, "end", "End")
    if d0 and d1 and d0 >= d1:
        raise InvalidInput("The start must be before the end.", field="start")
    if d0 and d0 < _years_before(utcnow().date(), MAX_RANGE_YEARS):
        raise InvalidInput(f"Backtests cover at most {MAX_RANGE_YEARS} years.", field="start")
    try:
        cap = float(str(capital).replace(",", "").replace("$", "").strip())
        slip = float(str(slippage_bps).strip() or 0)
        fee = float(str(commission).strip() or 0)
    except ValueError:
        raise InvalidInput("Capital, slippage and commission must be numbers.", field="capital") from None
    if not (math.isfinite(cap) and 1000 <= cap <= 100_000_000):
        raise InvalidInput("Starting capital must be between $1,000 and $100,000,000.", field="capital")
    if not (math.isfinite(slip) and 0 <= slip <= 500):
        raise InvalidInput("Slippage must be between 0 and 500 bps.", field="slippage_bps")
    if not (math.isfinite(fee) and 0 <= fee <= 1000):
        raise InvalidInput("Commission must be between $0 and $1,000 per order.", field="commission")
    enforce_limit(user, plan_for(user), "backtests_per_month",
                  lambda: backtests_this_month(user), noun="backtests this month",
                  message="Your plan includes {limit} backtests a month and you have used them. "
                          "Upgrade your plan for more.")
    bt = Backtest(strategy_id=strategy.id, owner_id=user.id, status="queued", start_date=d0, end_date=d1,
                  starting_capital=cap,
                  params={"symbols": universe_symbols(strategy), "entry_rule": strategy.entry_rule,
                          "exit_rule": strategy.exit_rule, "sizing_pct": strategy.sizing_pct,
                          "stop_loss_pct": strategy.stop_loss_pct, "take_profit_pct": strategy.take_profit_pct,
                          "slippage_bps": slip, "commission": fee, "benchmark": strategy.benchmark})
    db.session.add(bt)
    db.session.commit()
    run = start_job("backtest", run_backtest, bt.id, owner_id=user.id, message="Backtest queued")
    bt = db.session.get(Backtest, bt.id)
    if bt.job_run_id is None:
        bt.job_run_id = run.id
        db.session.commit()
    return bt


def get_backtest(user, backtest_id: Any) -> Backtest:
    """A backtest of a strategy the user may see (owner, or public/unlisted strategy)."""
    bt = db.session.get(Backtest, _int_id(backtest_id))
    if bt is None:
        raise NotFound("No such backtest.")
    get_visible(user, bt.strategy_id)
    return bt


def latest_backtest(strategy: Strategy, succeeded_only: bool = False) -> Backtest | None:
    stmt = select(Backtest).where(Backtest.strategy_id == strategy.id)
    if succeeded_only:
        stmt = stmt.where(Backtest.status == "succeeded")
    return db.session.scalar(stmt.order_by(Backtest.id.desc()).limit(1))


def execute_backtest(backtest_id: int, progress=None) -> Backtest:
    """Run a recorded backtest (the job body): load bars, evaluate the rules over every bar,
    simulate, store trades, equity (with the benchmark) and metrics."""
    bt = db.session.get(Backtest, backtest_id)
    p = bt.params
    pairs = sdata.resolve_symbols(p["symbols"])
    if not pairs:
        raise InvalidInput("None of the strategy's symbols is known.")
    since = bt.start_date - dt.timedelta(days=sdata.WARMUP_DAYS) if bt.start_date else None
    panel = sdata.load_panel([i for i, _ in pairs], [s for _, s in pairs], since, bt.end_date)
    if not panel.dates:
        raise InvalidInput("There are no daily bars for these symbols in this range.")
    start_idx = 0
    if bt.start_date:
        start_idx = int(np.searchsorted(np.array(panel.dates, dtype="datetime64[D]"),
                                        np.datetime64(bt.start_date, "D")))
        if start_idx >= len(panel.dates):
            raise InvalidInput("There are no daily bars after the start date.")
    if progress:
        progress(0.05, f"Evaluating the rules on {len(pairs)} symbols × {len(panel.dates)} bars")
    data = SeriesData(panel.fields(), symbols=panel.symbols)
    entry = compile_rule(p["entry_rule"], expect="condition").evaluate(data, TIME_SERIES)
    exit_ = compile_rule(p["exit_rule"], expect="condition").evaluate(data, TIME_SERIES)
    config = engine.Config(sizing_pct=p["sizing_pct"], stop_loss_pct=p.get("stop_loss_pct"),
                           take_profit_pct=p.get("take_profit_pct"), slippage_bps=p.get("slippage_bps", 5),
                           commission=p.get("commission", 0), starting_capital=bt.starting_capital)
    sim_progress = (lambda f: progress(0.1 + 0.8 * f, "Simulating")) if progress else None
    res = engine.run(panel.open, panel.high, panel.low, panel.close, entry, exit_, config, start=start_idx,
                     progress=sim_progress)
    metrics = engine.compute_metrics(res, start_idx)
    dates = panel.dates[start_idx:]
    bench_sym = sdata.benchmark_symbol(p.get("benchmark"), p["symbols"])
    bench, bench_label = sdata.benchmark(dates, close=panel.close[:, start_idx:], symbol=bench_sym)
    bench_equity = sdata.scaled(bench, bt.starting_capital)
    from app.paper import metrics as m

    metrics["benchmark"] = bench_label
    metrics["benchmark_return"] = m.total_return(bench_equity)
    metrics["benchmark_annualised"] = m.annualised_return(bench_equity)
    eq = res.equity[start_idx:]
    bt.equity = [[d.isoformat(), round(float(e), 2), round(float(b), 2)] for d, e, b in zip(dates, eq, bench_equity,
                                                                                              strict=True)]
    t = res.trades
    syms = panel.symbols
    bt.trades = [{"symbol": syms[int(t["sym"][i])], "entry": panel.dates[int(t["entry_bar"][i])].isoformat(),
                  "exit": panel.dates[int(t["exit_bar"][i])].isoformat(), "qty": int(t["qty"][i]),
                  "entry_price": round(float(t["entry_price"][i]), 4), "exit_price": round(float(t["exit_price"][i]), 4),
                  "pnl": round(float(t["pnl"][i]), 2), "pnl_pct": round(float(t["pnl_pct"][i]) * 100, 2),
                  "bars": int(t["exit_bar"][i] - t["entry_bar"][i]),
                  "reason": engine.EXIT_REASONS[int(t["reason"][i])]}
                 for i in range(min(res.n_trades, 5000))]
    metrics["trades_stored"] = len(bt.trades)
    metrics["start"], metrics["end"] = dates[0].isoformat(), dates[-1].isoformat()
    metrics["symbols"] = len(syms)
    bt.metrics = _json_safe(metrics)
    bt.status, bt.finished_at = "succeeded", utcnow()
    strategy = db.session.get(Strategy, bt.strategy_id)
    if strategy.status == DRAFT:
        strategy.status = BACKTESTED
    db.session.commit()
    return bt


def _json_safe(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, float | np.floating):
            v = float(v)
            v = None if not math.isfinite(v) else v
        elif isinstance(v, np.integer):
            v = int(v)
        out[k] = v
    return out


# ===================================================================== forward tracking
def start_tracking(user, strategy_id: Any) -> Strategy:
    """Give the strategy its own (managed) paper account and trade it every day after the
    daily scan. Tracking starts from an empty account."""
    from app.paper import services as ledger

    strategy = get_owned(user, strategy_id)
    if strategy.status == TRACKING:
        return strategy
    if strategy.status == ARCHIVED:
        raise InvalidInput("Archived strategies cannot be tracked.", field="strategy")
    account = strategy.paper_account
    if account is None:
        account = ledger.open_managed_account(user, f"Strategy #{strategy.id}", 100000, slippage_bps=5,
                                              commission=0, position_cap_pct=min(100.0, strategy.sizing_pct + 1))
        strategy = get_owned(user, strategy_id)
        strategy.paper_account_id = account.id
    else:
        ledger.reset_account(user, account.id) if not account.managed else ledger.reset_managed(account)
        strategy = get_owned(user, strategy_id)
    strategy.status = TRACKING
    strategy.tracking_started_at = utcnow()
    db.session.commit()
    _bump_board()
    return strategy


def stop_tracking(user, strategy_id: Any) -> Strategy:
    strategy = get_owned(user, strategy_id)
    if strategy.status == TRACKING:
        strategy.status = BACKTESTED
        db.session.commit()
        _bump_board()
    return strategy


RECALC_INTERVAL = 60  # seconds between two recalculations of one strategy


def recalculate(user, strategy_id: Any):
    """Owner only: queue a recomputation of this strategy's leaderboard rows (its scores in
    every timeframe; the boards it is in are re-ranked), at most once a minute per strategy."""
    from app.jobs import start_job
    recalculate_job = "app.strategies.tasks.recalculate_job"  # by dotted path: tasks import these services

    strategy = get_owned(user, strategy_id)
    _recalc_throttle(strategy.id)
    run = start_job("strategy_recalculate", recalculate_job, strategy.id, owner_id=user.id,
                    message="Recalculation queued")
    if run.result_ref is None:  # the database fallback of the throttle looks for it
        run.result_ref = f"strategy:{strategy.id}"
        db.session.commit()
    return run


def _recalc_throttle(strategy_id: int) -> None:
    """Raise Throttled when this strategy was recalculated less than a minute ago: an atomic
    Redis SET NX (shared by every process), or the last queued job when Redis is down."""
    from app.errors import Throttled
    from app.models.jobs import JobRun
    from app.redis_store import get_redis

    wait = None
    try:
        r = get_redis()
        if not r.set(f"strategies:recalc:{strategy_id}", 1, nx=True, ex=RECALC_INTERVAL):
            wait = max(1, int(r.ttl(f"strategies:recalc:{strategy_id}") or RECALC_INTERVAL))
    except Exception:
        log.warning("recalculation throttle: Redis unavailable, using the job table", exc_info=True)
        last = db.session.scalar(select(func.max(JobRun.created_at)).where(
            JobRun.kind == "strategy_recalculate", JobRun.result_ref == f"strategy:{strategy_id}"))
        if last is not None:
            left = RECALC_INTERVAL - (utcnow() - last).total_seconds()
            wait = math.ceil(left) if left > 0 else None
    if wait is not None:
        raise Throttled(f"This strategy was recalculated less than a minute ago; try again in {wait} s.",
                        retry_after=wait)


# ===================================================================== cache version
BOARD_VERSION_KEY = "strategies:leaderboard:version"


def _bump_board() -> None:
    from app.redis_store import get_redis

    try:
        get_redis().incr(BOARD_VERSION_KEY)
    except Exception:
        log.warning("could not bump the leaderboard version", exc_info=True)


def board_version() -> int:
    from app.redis_store import get_redis

    try:
        return int(get_redis().get(BOARD_VERSION_KEY) or 0)
    except Exception:
        return 0
