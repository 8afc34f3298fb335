"""Alert formulas over daily history (the daily-bar builder shared with the screener): values
hand-computed from the bars below."""
from __future__ import annotations

import datetime as dt

import pytest

from app.alerts import services
from app.database import utcnow
from app.extensions import db
from app.market.series import clear_bar_cache, warm_bar_cache
from app.models import Bar, ScanRun, Snapshot
from tests.alerts.test_evaluation import fired, rule

LAST_BAR = dt.date(2026, 11, 26)
SESSION = dt.date(2026, 11, 27)  # the live quote opens a new daily bar


@pytest.fixture(autouse=True)
def _fresh_bar_cache():
    clear_bar_cache()
    yield
    clear_bar_cache()


def daily(stock, closes: list[float]) -> None:
    """Daily bars ending on LAST_BAR; the stock's snapshot is in the next session."""
    n = len(closes)
    db.session.execute(Bar.__table__.insert(), [
        {"stock_id": stock.id, "interval": "1d",
         "ts": dt.datetime.combine(LAST_BAR - dt.timedelta(days=n - 1 - k), dt.time(), tzinfo=dt.UTC),
         "open": c, "high": c, "low": c, "close": c, "volume": 1000} for k, c in enumerate(closes)])
    db.session.get(Snapshot, stock.id).session = SESSION
    db.session.commit()


def finish_daily_scan() -> None:
    db.session.add(ScanRun(kind="1d", provider="test", status="succeeded", started_at=utcnow(),
                           finished_at=utcnow()))
    db.session.commit()


def test_history_formula_is_accepted_and_invalid_ones_still_refused(market, pro):
    market.add("AAPL", 100)
    r = rule(pro, "AAPL", "formula", formula="close > sma(close, 50)")
    assert r.conditions == [{"kind": "formula", "formula": "close > sma(close, 50)"}]
    rule(pro, "AAPL", "formula", formula="crosses_above(macd, macd_signal)")
    with pytest.raises(services.InvalidInput, match="Formula"):
        rule(pro, "AAPL", "formula", formula="close >")
    with pytest.raises(services.InvalidInput, match="market_cap"):
        rule(pro, "AAPL", "formula", formula="sma(market_cap, 5) > 1e9")


def test_close_above_its_50_day_average(market, pro):
    up = market.add("UP", 101)      # sma50 = (49 * 100 + 101) / 50 = 100.02 < 101 -> fires
    down = market.add("DOWN", 99)   # sma50 = 99.98 > 99 -> no
    short = market.add("SHORT", 500)  # 10 bars only: sma50 unknown -> no
    daily(up, [100.0] * 49)
    daily(down, [100.0] * 49)
    daily(short, [100.0] * 10)
    finish_daily_scan()
    rules = {s.symbol: rule(pro, s.symbol, "formula", formula="close > sma(close, 50)", cooldown_minutes=60)
             for s in (up, down, short)}
    whole = services.create_rule(pro, services.RuleInput(
        scope_kind="universe", conditions=[{"kind": "formula", "formula": "close > sma(close, 50)"}]))
    t = utcnow()
    res = services.evaluate_cycle(now=t)
    assert res.errors == {}
    assert sorted(fired()) == sorted([("UP", rules["UP"].id), ("UP", whole.id)])
    # not a cross: the usual cooldown applies (no refire within it, again after it)
    market.tick(up, 102)
    services.evaluate_cycle(now=t + dt.timedelta(minutes=30))
    assert len(fired()) == 2
    market.tick(down, 100.5)  # sma50 = (4900 + 100.5) / 50 = 100.01 < 100.5 -> DOWN fires now
    services.evaluate_cycle(now=t + dt.timedelta(minutes=61))
    assert sorted(fired()) == sorted([("UP", rules["UP"].id), ("UP", whole.id), ("UP", rules["UP"].id),
                                      ("UP", whole.id), ("DOWN", rules["DOWN"].id), ("DOWN", whole.id)])


def test_sma_cross_fires_once_per_crossing(market, pro):
    # 20 bars at 100 then 4 at 96: yesterday sma5 = 96.8 <= sma20 = 99.2. With a quote p,
    # sma5 = (384 + p) / 5 and sma20 = (1884 + p) / 20, so sma5 > sma20 exactly when p > 116.
    s = market.add("XOVER", 100, prev=100)
    flat = market.add("FLAT", 100, prev=100)
    daily(s, [100.0] * 20 + [96.0] * 4)
    daily(flat, [100.0] * 24)  # yesterday sma5 = sma20 = 100: not above
    finish_daily_scan()
    formula = "crosses_above(sma(close, 5), sma(close, 20))"
    r = rule(pro, "XOVER", "formula", formula=formula, cooldown_minutes=1)
    rf = rule(pro, "FLAT", "formula", formula=formula, cooldown_minutes=1)
    t = utcnow()
    steps = [  # (price, minutes later, fires?)
        (110, 0, False),    # below 116
        (116, 5, False),    # equal: not strictly above
        (120, 10, True),    # 116 -> 120 crosses
        (125, 20, False),   # still above: no new crossing, although the cooldown is over
        (130, 30, False),
        (110, 40, False),   # back below
        (117, 50, True),    # crosses again
    ]
    expected = 0
    for price, minutes, fires in steps:
        market.tick(s, price)
        market.tick(flat, price)
        res = services.evaluate_cycle(now=t + dt.timedelta(minutes=minutes))
        assert res.errors == {}
        expected += fires
        assert fired(r.id) == [("XOVER", r.id)] * expected, (price, minutes)
    # FLAT: any quote above 100 puts sma5 above sma20 (110: 102 > 100.5); the first step
    # (100 -> 110) is its only crossing, every later quote stays above 100
    assert fired(rf.id) == [("FLAT", rf.id)]


def test_warm_up_loads_the_shared_cache(market, pro):
    s = market.add("AAPL", 101)
    daily(s, [100.0] * 60)
    finish_daily_scan()
    data = warm_bar_cache()
    assert data["width"] == 260 and list(data["ids"]) == [s.id]
    from app.market import hooks

    hooks.emit(hooks.after_daily_cycle, "1d", run_id=None, version=None, as_of=utcnow(), stock_ids=[])


def test_file_cache_survives_a_fresh_process(app, market, pro, tmp_path, monkeypatch):
    """A forked work horse has no memory cache: it reads the file the warm-up wrote."""
    from app.market import series

    monkeypatch.setitem(app.config, "BAR_CACHE_DIR", str(tmp_path))
    s = market.add("AAPL", 101)
    daily(s, [100.0] * 49)
    finish_daily_scan()
    warmed = warm_bar_cache()
    assert len(list(tmp_path.glob("daily-bars-*.npz"))) == 1
    clear_bar_cache()

    def no_db(width):
        raise AssertionError("read the database instead of the file")

    monkeypatch.setattr(series, "_load_bars", no_db)
    got = series.bars_for(50)
    assert got["width"] == warmed["width"] and list(got["ids"]) == [s.id]
    assert got["last_date"][0] == LAST_BAR
    r = rule(pro, "AAPL", "formula", formula="close > sma(close, 50)")
    services.evaluate_cycle()
    assert fired() == [("AAPL", r.id)]
