"""Heavy reads: forward figures per timeframe, the leaderboard rebuild and its cached reads.

Timeframes are real windows over the forward-tracked ledger (not labels):

* the session axis is the sorted set of sessions with an equity snapshot of any tracked
  account (the daily close of the paper ledger);
* ``daily`` = the last session, ``weekly`` = the last 5, ``monthly`` = the last 21,
  ``all_time`` = everything since tracking started;
* equity inside a window = the snapshots of the window's sessions, preceded by the last
  equity before the window (the base the first day's return is measured from; the starting
  balance when tracking began inside the window);
* trades = closed trades whose exit (ET date) falls on a window session; costs = the
  slippage and commissions of the fills inside the window;
* the benchmark = SPY's closes over the same points (no SPY bars: not scored, said so).

Ranking rules: public strategies in ``tracking`` status with at least 30 closed forward
trades (all time); those tracked for fewer than 90 days appear only under ``rookies``;
the others under ``overall`` and their own category (momentum ... trend_following; value
and custom only under overall). Backtest-only strategies are never ranked.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Double, cast, delete, func, insert, or_, select, update

from app.database import utcnow
from app.extensions import db
from app.models.paper import EquitySnapshot, Fill, PaperAccount, Trade
from app.models.strategies import BOARD_CATEGORIES, TIMEFRAMES, TRACKING, LeaderboardEntry, Strategy
from app.models.user import User
from app.strategies import scoring

log = logging.getLogger(__name__)
WINDOW_SESSIONS = {"daily": 1, "weekly": 5, "monthly": 21, "all_time": None}
ET = "America/New_York"
MAX_PER_PAGE = 100


@dataclass
class Ledger:
    """Forward data of many accounts, loaded in a few bulk queries."""

    axis: list[dt.date]
    equity: dict[int, tuple[np.ndarray, np.ndarray]]  # account -> (sessions as datetime64[D], equity)
    start_balance: dict[int, float]
    trades: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]  # account -> (exit day, pnl, pnl_pct)
    costs: dict[int, tuple[np.ndarray, np.ndarray]]  # account -> (fill day, cost)
    spy: pd.Series | None  # SPY close by session

    def __post_init__(self) -> None:
        self.axis_days = np.array(self.axis, dtype="datetime64[D]")
        if self.spy is not None:
            self._spy_days = self.spy.index.to_numpy().astype("datetime64[D]")
            self._spy_values = self.spy.to_numpy(dtype=float)

    def spy_on(self, days: np.ndarray) -> np.ndarray:
        """SPY closes on the given sessions (NaN where SPY has none): ``spy.reindex(days)``."""
        pos = np.minimum(np.searchsorted(self._spy_days, days), max(self._spy_days.size - 1, 0))
        if not self._spy_days.size:
            return np.full(days.size, np.nan)
        return np.where(self._spy_days[pos] == days, self._spy_values[pos], np.nan)


def _days(ts) -> np.ndarray:
    """ET calendar days (datetime64[D]) of UTC timestamps (aware datetimes, or the naive UTC
    strings SQLite hands back through a raw cursor)."""
    if not len(ts):
        return np.empty(0, dtype="datetime64[D]")
    idx = pd.to_datetime(pd.Index(ts), utc=True, format="ISO8601")
    return idx.tz_convert(ET).tz_localize(None).to_numpy().astype("datetime64[D]")


def _fetch(stmt) -> list[tuple]:
    """All rows of a select through the driver's cursor: plain tuples, without the per-row
    result processing (hundreds of thousands of ledger rows on a big rebuild)."""
    conn = db.session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    if compiled.positiontup is not None:
        params = tuple(params[k] for k in compiled.positiontup)
    cur = conn.connection.dbapi_connection.cursor()
    try:
        cur.execute(str(compiled), params)
        return cur.fetchall()
    finally:
        cur.close()


def _split(accounts: np.ndarray, *columns: np.ndarray) -> dict[int, tuple]:
    """Group columns by account (order inside an account kept as fetched)."""
    if not accounts.size:
        return {}
    order = np.argsort(accounts, kind="stable")
    a = accounts[order]
    cols = [c[order] for c in columns]
    cuts = np.flatnonzero(a[1:] != a[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [a.size]])
    return {int(a[i]): tuple(c[i:j] for c in cols) for i, j in zip(starts.tolist(), ends.tolist(), strict=True)}


def _columns(rows: list[tuple], n: int) -> list[list]:
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(n)]


@contextlib.contextmanager
def _no_gc():
    """Pause the cyclic garbage collector while building hundreds of thousands of row tuples
    (none of them cyclic): its passes otherwise dominate a big load."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_ledger(account_ids: list[int], axis: list[dt.date] | None = None) -> Ledger:
    """The forward data of ``account_ids``; the session axis is theirs, or ``axis`` (the
    whole board's, so one strategy's windows are the full rebuild's windows)."""
    with _no_gc():
        return _load_ledger(account_ids, axis)


def _load_ledger(account_ids: list[int], given_axis: list[dt.date] | None = None) -> Ledger:
    ids = list(account_ids)
    if not ids:
        return Ledger([], {}, {}, {}, {}, None)
    a, sess, value = _columns(_fetch(
        select(EquitySnapshot.account_id, EquitySnapshot.session, cast(EquitySnapshot.equity, Double))
        .where(EquitySnapshot.account_id.in_(ids)).order_by(EquitySnapshot.account_id, EquitySnapshot.session)
    ), 3)
    days = np.array(sess, dtype="datetime64[D]")
    axis = np.unique(days).tolist() if given_axis is None else list(given_axis)
    equity = _split(np.array(a, dtype=np.int64), days, np.array(value, dtype=float))
    start = dict(db.session.execute(select(PaperAccount.id, cast(PaperAccount.starting_balance, Double))
                                    .where(PaperAccount.id.in_(ids))).all())
    a, exit_time, pnl, pct = _columns(_fetch(
        select(Trade.account_id, Trade.exit_time, cast(Trade.pnl, Double), cast(Trade.pnl_pct, Double))
        .where(Trade.account_id.in_(ids))), 4)
    # the ledger stores pnl_pct in percent; the scorer wants fractions
    trades = _split(np.array(a, dtype=np.int64), _days(exit_time), np.array(pnl, dtype=float),
                    np.array(pct, dtype=float) / 100)
    a, ts, cost = _columns(_fetch(
        select(Fill.account_id, Fill.ts, cast(Fill.slippage + Fill.commission, Double))
        .where(Fill.account_id.in_(ids))), 3)
    costs = _split(np.array(a, dtype=np.int64), _days(ts), np.array(cost, dtype=float))
    spy = None
    if axis:
        from app.strategies import data as sdata

        closes = sdata.benchmark_closes(axis)
        if closes is not None:
            spy = pd.Series(closes, index=pd.Index(np.array(axis, dtype="datetime64[D]")))
    return Ledger(axis, equity, {int(k): float(v) for k, v in start.items()}, trades, costs, spy)


def window_inputs(ledger: Ledger, account_id: int, timeframe: str, strategy: Strategy | None = None,
                  community: dict | None = None) -> scoring.Inputs:
    """The scorer's inputs for one account inside one timeframe window."""
    n = WINDOW_SESSIONS[timeframe]
    axis = ledger.axis_days
    days, values = ledger.equity.get(account_id, (np.empty(0, dtype="datetime64[D]"), np.empty(0)))
    base_value = ledger.start_balance.get(account_id, float(values[0]) if values.size else 0.0)
    if n is None or axis.size <= n:
        first = axis[0] if axis.size else None
        pts_days, pts = days, values
        eq = np.concatenate([[base_value], pts])
        sessions = int(pts.size)
        bench_days = np.concatenate([[pts_days[0]], pts_days]) if pts.size else pts_days
    else:
        first = axis[-n]
        base_day = axis[-n - 1]
        inside = days >= first
        before = np.flatnonzero(days <= base_day)
        base = values[before[-1]] if before.size else base_value
        eq = np.concatenate([[base], values[inside]])
        sessions = n
        bench_days = np.concatenate([[days[before[-1]] if before.size else first], days[inside]])
    tdays, pnl, pct = ledger.trades.get(account_id, (np.empty(0, dtype="datetime64[D]"), np.empty(0), np.empty(0)))
    cdays, cost = ledger.costs.get(account_id, (np.empty(0, dtype="datetime64[D]"), np.empty(0)))
    if first is not None and n is not None:
        sel = tdays >= first
        pnl, pct = pnl[sel], pct[sel]
        cost = cost[cdays >= first]
    bench = None
    if ledger.spy is not None and bench_days.size >= 2:
        got = ledger.spy_on(bench_days)
        bench = None if np.isnan(got).any() else got
    c = community or {}
    return scoring.Inputs(equity=eq, pnls=pnl, pnl_pcts=pct, sessions=sessions, benchmark=bench,
                          costs=float(cost.sum()), clones=c.get("clones", 0), average_rating=c.get("avg"),
                          ratings=c.get("ratings", 0), viewers=c.get("viewers", 0))


def _community(s: Strategy) -> dict:
    return {"clones": s.clones_count, "avg": s.average_rating, "ratings": s.ratings_count, "viewers": s.viewers_count}


def forward_scores(strategy: Strategy) -> dict[str, dict] | None:
    """Score and breakdown of one tracked strategy for every timeframe (detail page)."""
    if strategy.paper_account_id is None:
        return None
    ledger = load_ledger([strategy.paper_account_id])
    return {tf: scoring.compute(window_inputs(ledger, strategy.paper_account_id, tf, community=_community(strategy)))
            for tf in TIMEFRAMES}


def forward_metrics(strategy: Strategy) -> dict | None:
    """The forward (out-of-sample) metrics of a tracked strategy, all time, for the
    side-by-side with its backtest."""
    from app.paper import metrics as m

    if strategy.paper_account_id is None:
        return None
    ledger = load_ledger([strategy.paper_account_id])
    inp = window_inputs(ledger, strategy.paper_account_id, "all_time")
    out = m.summary(inp.equity, inp.pnls)
    out["win_loss_ratio"] = m.win_loss_ratio(inp.pnls)
    out["costs"] = inp.costs
    return out


def drawdown_points(points: list[dict]) -> list[dict]:
    """``{"time", "value"}`` chart points of an equity curve -> its underwater curve (%)."""
    from app.paper import metrics as m

    dd = m.drawdown_series([p["value"] for p in points])
    return [{"time": p["time"], "value": round(float(v), 3)} for p, v in zip(points, dd, strict=True)]


def forward_chart(strategy: Strategy) -> dict:
    """The forward-tracking chart: daily equity of the strategy's account, the benchmark the
    backtests use (:func:`app.strategies.data.benchmark`, scaled to the first equity point)
    over the same sessions, and the drawdown curve."""
    from app.paper import services as ledger
    from app.strategies import data as sdata
    from app.strategies.services import universe_symbols

    account = strategy.paper_account
    if account is None:
        return {"equity": [], "benchmark": [], "drawdown": [], "starting_balance": None, "benchmark_label": None}
    snaps = ledger.equity_series(account, "all")
    equity = [{"time": p["session"].isoformat(), "value": float(p["equity"])} for p in snaps]
    symbols = universe_symbols(strategy)
    bench, label = sdata.benchmark([p["session"] for p in snaps], symbols,
                                   symbol=sdata.benchmark_symbol(strategy.benchmark, symbols))
    levels = sdata.scaled(bench, equity[0]["value"]) if equity else bench
    benchmark = [{"time": p["time"], "value": round(float(v), 2)}
                 for p, v in zip(equity, levels, strict=True) if np.isfinite(v)]
    return {"equity": equity, "benchmark": benchmark, "drawdown": drawdown_points(equity),
            "starting_balance": float(account.starting_balance), "benchmark_label": label}


def eligibility(strategy: Strategy, total_trades: int, now: dt.datetime | None = None) -> dict:
    now = now or utcnow()
    age = (now - strategy.tracking_started_at).days if strategy.tracking_started_at else 0
    reasons = []
    if strategy.visibility != "public":
        reasons.append("only public strategies are ranked")
    if strategy.status != TRACKING:
        reasons.append("not forward-tracked (backtests are never ranked)")
    if total_trades < scoring.MIN_TRADES:
        reasons.append(f"{total_trades} of the {scoring.MIN_TRADES} closed forward trades needed")
    return {"ranked": not reasons, "rookie": age < scoring.ROOKIE_DAYS, "age_days": age, "reasons": reasons,
            "trades": total_trades}


def rebuild_leaderboard(now: dt.datetime | None = None) -> dict:
    """Recompute every (category, timeframe) ranking into leaderboard_entries (one
    transaction: readers see the old ranking or the new one), then bump the cache version."""
    with _no_gc():
        return _rebuild_leaderboard(now)


def _rebuild_leaderboard(now: dt.datetime | None) -> dict:
    t0 = time.perf_counter()
    now = now or utcnow()
    rows = db.session.execute(
        select(Strategy, User.display_name).join(User, User.id == Strategy.owner_id)
        .where(Strategy.status == TRACKING, Strategy.visibility == "public", Strategy.paper_account_id.is_not(None))
    ).all()
    ledger = load_ledger([s.paper_account_id for s, _ in rows])
    board: dict[tuple[str, str], list[dict]] = {(c, tf): [] for c in BOARD_CATEGORIES for tf in TIMEFRAMES}
    ranked = 0
    windows = []  # (strategy, owner, eligibility, categories, timeframe)
    inputs = []
    for s, owner_name in rows:
        total = int(ledger.trades.get(s.paper_account_id, (np.empty(0),))[0].size)
        el = eligibility(s, total, now)
        if not el["ranked"]:
            continue
        ranked += 1
        cats = ["rookies"] if el["rookie"] else ["overall"] + ([s.category] if s.category in BOARD_CATEGORIES else [])
        community = _community(s)
        for tf in TIMEFRAMES:
            windows.append((s, owner_name, el, cats, tf))
            inputs.append(window_inputs(ledger, s.paper_account_id, tf, community=community))
    for (s, owner_name, el, cats, tf), result in zip(windows, scoring.compute_many(inputs), strict=True):
        figures = {**result["figures"], "age_days": el["age_days"], "total_trades": el["trades"]}
        entry = {"strategy_id": s.id, "name": s.name, "owner_name": owner_name or "", "score": result["score"],
                 "components": result["components"], "figures": _clean(figures)}
        for c in cats:
            board[(c, tf)].append(entry)
    rows_written = _write_board(board, now)
    db.session.commit()
    from app.strategies.services import _bump_board

    _bump_board()
    return {"strategies": len(rows), "ranked": ranked, "rows": rows_written,
            "seconds": round(time.perf_counter() - t0, 3)}


def _board_axis() -> list[dt.date]:
    """The session axis of the full rebuild: sessions with a snapshot of any ranked candidate."""
    accounts = select(Strategy.paper_account_id).where(
        Strategy.status == TRACKING, Strategy.visibility == "public", Strategy.paper_account_id.is_not(None))
    days = db.session.scalars(select(EquitySnapshot.session).where(EquitySnapshot.account_id.in_(accounts))
                              .distinct().order_by(EquitySnapshot.session))
    return [d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)) for d in days]


def rebuild_strategy(strategy_id: int, now: dt.datetime | None = None) -> dict:
    """Recompute ONE strategy's leaderboard rows (the "Recalculate" button): its scores in
    every timeframe over the same windows as the full rebuild, then re-rank only the boards
    it leaves or enters (the other strategies' stored scores are kept)."""
    now = now or utcnow()
    s = db.session.get(Strategy, strategy_id)
    E = LeaderboardEntry  # noqa: N806
    old = list(db.session.scalars(select(E).where(E.strategy_id == strategy_id)))
    boards = {(e.category, e.timeframe) for e in old}
    for e in old:
        db.session.delete(e)
    entries: dict[tuple[str, str], dict] = {}
    ranked = False
    if s is not None and s.status == TRACKING and s.visibility == "public" and s.paper_account_id is not None:
        ledger = load_ledger([s.paper_account_id], axis=_board_axis())
        total = int(ledger.trades.get(s.paper_account_id, (np.empty(0),))[0].size)
        el = eligibility(s, total, now)
        if el["ranked"]:
            ranked = True
            cats = ["rookies"] if el["rookie"] else ["overall"] + ([s.category] if s.category in BOARD_CATEGORIES
                                                                  else [])
            owner = db.session.scalar(select(User.display_name).where(User.id == s.owner_id)) or ""
            community = _community(s)
            inputs = [window_inputs(ledger, s.paper_account_id, tf, community=community) for tf in TIMEFRAMES]
            for tf, result in zip(TIMEFRAMES, scoring.compute_many(inputs), strict=True):
                figures = {**result["figures"], "age_days": el["age_days"], "total_trades": el["trades"]}
                for c in cats:
                    entries[(c, tf)] = {"strategy_id": s.id, "name": s.name, "owner_name": owner,
                                        "score": result["score"], "components": result["components"],
                                        "figures": _clean(figures)}
                    boards.add((c, tf))
    db.session.flush()
    for c, tf in sorted(boards):
        _rerank(c, tf, entries.get((c, tf)), now)
    db.session.commit()
    from app.strategies.services import _bump_board

    _bump_board()
    return {"strategy_id": strategy_id, "ranked": ranked, "rows": len(entries), "boards": len(boards)}


def _rerank(category: str, timeframe: str, entry: dict | None, now: dt.datetime) -> None:
    """Renumber one board by (score desc, strategy id) with ``entry`` (the recomputed
    strategy's row, or None when it left the board) among the stored rows. Ranks are moved
    out of the way first: (category, timeframe, rank) is unique at every statement."""
    E = LeaderboardEntry  # noqa: N806
    where = (E.category == category, E.timeframe == timeframe)
    rows = db.session.execute(select(E.id, E.strategy_id, E.score).where(*where)).all()
    order = [(-float(score), sid, rid) for rid, sid, score in rows]
    if entry is not None:
        order.append((-float(entry["score"]), entry["strategy_id"], None))
    order.sort()
    if rows:
        db.session.execute(update(E).where(*where).values(rank=-E.rank - 1))
    updates = []
    for rank, (_, _, rid) in enumerate(order, 1):
        if rid is None:
            db.session.add(E(category=category, timeframe=timeframe, rank=rank, built_at=now, **entry))
        else:
            updates.append({"id": rid, "rank": rank})
    if updates:
        db.session.execute(update(E), updates)
    db.session.flush()


_ENTRY_COLUMNS = ("strategy_id", "name", "owner_name", "score", "components", "figures")


def _write_board(board: dict[tuple[str, str], list[dict]], now: dt.datetime) -> int:
    """Replace leaderboard_entries with the ranked board (inside the caller's transaction).

    One executemany through the driver's cursor: each entry's values go through the columns'
    own bind processors once (an entry appears under up to 3 categories), exactly the values
    an ORM insert would send."""
    conn = db.session.connection()
    table = LeaderboardEntry.__table__
    columns = ("category", "timeframe", "rank", *_ENTRY_COLUMNS, "built_at")
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(columns))
    procs = compiled._bind_processors

    def bound(key: str, value):
        proc = procs.get(key)
        return proc(value) if proc is not None else value

    built = bound("built_at", now)
    processed: dict[int, tuple] = {}
    params = []
    for (c, tf), entries in board.items():
        entries.sort(key=lambda e: (-e["score"], e["strategy_id"]))
        cat, tfp = bound("category", c), bound("timeframe", tf)
        for rank, e in enumerate(entries, 1):
            vals = processed.get(id(e))
            if vals is None:
                vals = processed[id(e)] = tuple(bound(k, e[k]) for k in _ENTRY_COLUMNS)
            params.append((cat, tfp, bound("rank", rank), *vals, built))
    if compiled.positiontup is not None:
        order = [columns.index(k) for k in compiled.positiontup]
        params = [tuple(p[i] for i in order) for p in params]
    else:
        params = [dict(zip(columns, p, strict=True)) for p in params]
    db.session.execute(delete(LeaderboardEntry))
    if params:
        cur = conn.connection.dbapi_connection.cursor()
        try:
            for i in range(0, len(params), 5000):
                cur.executemany(str(compiled), params[i:i + 5000])
        finally:
            cur.close()
    return len(params)


def _clean(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, float | np.floating):
            v = float(v) if np.isfinite(v) else None
        out[k] = v
    return out


@dataclass
class BoardPage:
    rows: list[LeaderboardEntry]
    total: int
    page: int
    per_page: int
    built_at: dt.datetime | None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def board_page(category: str, timeframe: str, q: str = "", page: int = 1, per_page: int = 50) -> BoardPage:
    category = category if category in BOARD_CATEGORIES else "overall"
    timeframe = timeframe if timeframe in TIMEFRAMES else "all_time"
    per_page = max(1, min(MAX_PER_PAGE, int(per_page)))
    page = max(1, int(page))
    stmt = select(LeaderboardEntry).where(LeaderboardEntry.category == category,
                                          LeaderboardEntry.timeframe == timeframe)
    q = (q or "").strip()[:80]
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(func.lower(LeaderboardEntry.name).like(like.lower(), escape="\\")))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(db.session.scalars(stmt.order_by(LeaderboardEntry.rank).offset((page - 1) * per_page).limit(per_page)))
    built = db.session.scalar(select(func.max(LeaderboardEntry.built_at)))
    return BoardPage(rows, total, page, per_page, built)


def board_entries_for(strategy_id: int) -> list[LeaderboardEntry]:
    return list(db.session.scalars(select(LeaderboardEntry).where(LeaderboardEntry.strategy_id == strategy_id)
                                   .order_by(LeaderboardEntry.timeframe, LeaderboardEntry.category)))
