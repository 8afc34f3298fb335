"""The evaluation engine: every condition kind with exact firings, crossing semantics,
cooldown / once, expiry, templates, and two workers racing for the same firing."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from app.alerts import services
from app.alerts.services import RuleInput
from app.database import utcnow
from app.extensions import db
from app.models import AlertEvent, AlertRule


def rule(user, symbol, kind, value=None, formula=None, **kw):
    cond = {"kind": kind, "value": value, "formula": formula}
    return services.create_rule(user, RuleInput(scope_kind=kw.pop("scope_kind", "symbol"), symbol=symbol,
                                                conditions=kw.pop("conditions", [cond]), **kw))


def fired(rule_id=None) -> list[tuple[str, int]]:
    q = select(AlertEvent.symbol, AlertEvent.rule_id).order_by(AlertEvent.id)
    if rule_id:
        q = q.where(AlertEvent.rule_id == rule_id)
    return [tuple(r) for r in db.session.execute(q).all()]


@pytest.mark.parametrize("kind,value,price,prev,change,relvol,expect", [
    ("price_above", 150, 150.01, 149, 0, 1, True),
    ("price_above", 150, 150.0, 149, 0, 1, False),  # strictly above
    ("price_below", 50, 49.99, 51, 0, 1, True),
    ("price_below", 50, 50.0, 51, 0, 1, False),
    ("crosses_above", 190, 191.2, 189.5, 0, 1, True),
    ("crosses_above", 190, 191.2, 190.0, 0, 1, True),  # from exactly the level
    ("crosses_above", 190, 191.2, 190.5, 0, 1, False),  # already above: no cross
    ("crosses_above", 190, 191.2, None, 0, 1, False),  # no previous value: no cross
    ("crosses_below", 100, 99.0, 101, 0, 1, True),
    ("crosses_below", 100, 99.0, 99.5, 0, 1, False),
    ("change_above", 5, 100, 100, 5.3, 1, True),
    ("change_above", 5, 100, 100, 4.9, 1, False),
    ("change_below", -3, 100, 100, -3.5, 1, True),
    ("change_below", -3, 100, 100, -2.0, 1, False),
    ("volume_spike", 3, 100, 100, 0, 3.0, True),  # >= N
    ("volume_spike", 3, 100, 100, 0, 2.99, False),
])
def test_each_condition_kind(market, pro, kind, value, price, prev, change, relvol, expect):
    s = market.add("AAPL", price, prev=prev, change_pct=change, rel_volume=relvol)
    r = rule(pro, "AAPL", kind, value)
    other = market.add("MSFT", price, prev=prev, change_pct=change, rel_volume=relvol)
    res = services.evaluate_cycle()
    assert res.rules == 1
    assert fired() == ([("AAPL", r.id)] if expect else [])  # only its own symbol, never MSFT
    assert s.id != other.id


def test_event_records_values_and_words(market, pro):
    market.add("AAPL", 191.20, prev=189.90, change_pct=1.25)
    r = rule(pro, "AAPL", "crosses_above", "190", message="{symbol} hit {price} ({change_pct}) via {rule} at {time}")
    services.evaluate_cycle()
    ev = db.session.scalar(select(AlertEvent))
    assert ev.rule_id == r.id and ev.owner_id == pro.id
    assert ev.price == pytest.approx(191.2) and ev.prev_price == pytest.approx(189.9)
    assert ev.description == "AAPL 191.20 crossed above 190.00 (was 189.90)"
    assert ev.message.startswith(f"AAPL hit 191.20 (+1.25 %) via {r.name} at ")
    assert ev.message.endswith(" ET")
    assert ev.latency_ms is not None and ev.latency_ms >= 0
    db.session.refresh(r)
    assert r.times_fired == 1 and r.last_fired_at is not None


def test_message_placeholders_are_not_format_strings(market, pro):
    market.add("AAPL", 200, prev=100)
    rule(pro, "AAPL", "price_above", 150, message="{symbol.__class__} {0} {price}")
    services.evaluate_cycle()
    assert db.session.scalar(select(AlertEvent.message)) == "{symbol.__class__} {0} 200.00"


def test_crosses_fire_once_per_crossing(market, pro):
    s = market.add("AAPL", 189.0, prev=188.0)
    r = rule(pro, "AAPL", "crosses_above", 190, cooldown_minutes=1)
    t = utcnow()
    services.evaluate_cycle(now=t)
    assert fired() == []
    market.tick(s, 191.0)  # the crossing
    services.evaluate_cycle(now=t + dt.timedelta(minutes=1))
    assert fired() == [("AAPL", r.id)]
    market.tick(s, 192.0)  # still above: no new crossing, even after the cooldown
    services.evaluate_cycle(now=t + dt.timedelta(minutes=5))
    market.tick(s, 193.0)
    services.evaluate_cycle(now=t + dt.timedelta(minutes=10))
    assert len(fired()) == 1
    market.tick(s, 189.0)  # back below
    services.evaluate_cycle(now=t + dt.timedelta(minutes=11))
    market.tick(s, 190.5)  # crosses again -> fires again
    services.evaluate_cycle(now=t + dt.timedelta(minutes=12))
    assert len(fired()) == 2


def test_cycle_evaluated_twice_fires_once(market, pro):
    market.add("AAPL", 191.0, prev=189.0)
    rule(pro, "AAPL", "crosses_above", 190)
    t = utcnow()
    services.evaluate_cycle(now=t)
    services.evaluate_cycle(now=t)  # the same cycle again (a retried job)
    assert len(fired()) == 1


def test_cooldown_per_symbol(market, pro):
    a = market.add("AAA", 120)
    market.add("BBB", 90)
    r = services.create_rule(pro, RuleInput(scope_kind="universe", conditions=[{"kind": "price_above", "value": 100}],
                                            cooldown_minutes=60))
    t = utcnow()
    services.evaluate_cycle(now=t)
    assert fired() == [("AAA", r.id)]
    b = db.session.scalar(select(AlertRule).where(AlertRule.id == r.id))
    market.tick(a, 121)
    services.evaluate_cycle(now=t + dt.timedelta(minutes=30))  # AAA still cooling down
    assert len(fired()) == 1
    from app.models import Stock
    bbb = db.session.scalar(select(Stock).where(Stock.symbol == "BBB"))
    market.tick(bbb, 105)  # BBB has its own cooldown: fires now
    services.evaluate_cycle(now=t + dt.timedelta(minutes=31))
    assert fired() == [("AAA", r.id), ("BBB", r.id)]
    services.evaluate_cycle(now=t + dt.timedelta(minutes=60))  # AAA's hour is over
    assert fired() == [("AAA", r.id), ("BBB", r.id), ("AAA", r.id)]
    db.session.refresh(b)
    assert b.times_fired == 3


def test_once_fires_once_and_finishes(market, pro):
    s = market.add("AAPL", 200)
    r = rule(pro, "AAPL", "price_above", 150, trigger_mode="once")
    t = utcnow()
    services.evaluate_cycle(now=t)
    market.tick(s, 201)
    services.evaluate_cycle(now=t + dt.timedelta(days=3))
    assert len(fired()) == 1
    db.session.refresh(r)
    assert r.status == "done"
    assert services.active_count(pro) == 0


def test_expired_rules_never_fire(market, pro):
    market.add("AAPL", 200)
    r = rule(pro, "AAPL", "price_above", 150, expires_on=(utcnow() + dt.timedelta(days=2)).date())
    services.evaluate_cycle(now=utcnow() + dt.timedelta(days=5))
    assert fired() == []
    db.session.refresh(r)
    assert r.status == "expired"


def test_paused_rules_never_fire(market, pro):
    market.add("AAPL", 200)
    r = rule(pro, "AAPL", "price_above", 150)
    services.set_paused(pro, r.id, True)
    assert services.evaluate_cycle().rules == 0
    services.set_paused(pro, r.id, False)
    services.evaluate_cycle()
    assert len(fired()) == 1


def test_stale_symbols_are_skipped_when_the_cycle_is_known(market, pro):
    from app.models.market import ScanRun

    market.add("AAPL", 200)
    rule(pro, "AAPL", "price_above", 150)
    run = ScanRun(kind="1m", provider="test", started_at=utcnow() + dt.timedelta(seconds=5))
    db.session.add(run)
    db.session.commit()
    services.evaluate_cycle(run_id=run.id)  # AAPL's snapshot predates this cycle
    assert fired() == []


def test_formula_rules_grouped_and_evaluated(market, pro):
    market.add("LOW", 50, rsi14=25)
    market.add("HIGH", 60, rsi14=75)
    market.add("MID", 55, rsi14=50)
    r1 = services.create_rule(pro, RuleInput(scope_kind="universe",
                                             conditions=[{"kind": "formula", "formula": "rsi14 < 30"}]))
    r2 = rule(pro, "LOW", "formula", formula="rsi14 < 30 and price > 40")
    r3 = rule(pro, "HIGH", "formula", formula="rsi14 < 30")
    r4 = rule(pro, "MID", "formula", formula="crosses_above(price, 54)")
    res = services.evaluate_cycle()
    assert sorted(fired()) == sorted([("LOW", r1.id), ("LOW", r2.id)])
    assert res.errors == {}
    assert r3.id and r4.id  # evaluated: false for HIGH (rsi 75) and MID (no previous price)


def test_formula_crosses_uses_previous_cycle(market, pro):
    market.add("MID", 55, prev=53)
    r = rule(pro, "MID", "formula", formula="crosses_above(price, 54)")
    services.evaluate_cycle()
    assert fired() == [("MID", r.id)]


def test_two_conditions_combine_with_and(market, pro):
    market.add("AAPL", 200, change_pct=6, rel_volume=1)
    market.add("MSFT", 200, change_pct=6, rel_volume=4)
    conds = [{"kind": "change_above", "value": 5}, {"kind": "volume_spike", "value": 3}]
    r = services.create_rule(pro, RuleInput(scope_kind="universe", conditions=conds))
    ra = rule(pro, "AAPL", None, conditions=conds)
    services.evaluate_cycle()
    assert fired() == [("MSFT", r.id)]
    assert ra.id


def test_templates_apply_to_symbols(market, pro):
    market.add("AAPL", 200, change_pct=6, rel_volume=4)
    market.add("MSFT", 100, change_pct=1, rel_volume=4)
    conds = [{"kind": "change_above", "value": 5}, {"kind": "volume_spike", "value": 3}]
    base = rule(pro, "AAPL", None, conditions=conds, name="Momentum burst")
    t = services.save_template(pro, base.id, "Momentum")
    assert t.conditions == [{"kind": "change_above", "value": 5.0}, {"kind": "volume_spike", "value": 3.0}]
    services.delete_rule(pro, base.id)
    created = services.apply_template(pro, t.id, symbols="aapl, MSFT")
    assert [r.stock.symbol for r in created] == ["AAPL", "MSFT"]
    assert all(r.conditions == t.conditions for r in created)
    services.evaluate_cycle()
    assert [s for s, _ in fired()] == ["AAPL"]
    with pytest.raises(services.InvalidInput, match="Unknown symbol"):
        services.apply_template(pro, t.id, symbols="NOPE")


def test_two_workers_racing_fire_once(app, market, pro):
    """Two evaluations of the same cycle in parallel threads (own sessions and connections):
    the conditional UPDATE lets exactly one of them claim each firing."""
    for i in range(20):
        market.add(f"R{i}", 200)
    r = services.create_rule(pro, RuleInput(scope_kind="universe", conditions=[{"kind": "price_above", "value": 100}]))
    t = utcnow()
    results, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        with app.app_context():
            try:
                barrier.wait()
                results.append(services.evaluate_cycle(now=t).fired)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert errors == []
    assert sum(results) == 20  # each firing claimed by exactly one worker
    assert db.session.scalar(select(func.count()).select_from(AlertEvent)) == 20
    db.session.expire_all()
    assert db.session.get(AlertRule, r.id).times_fired == 20


def test_claim_is_atomic_for_interleaved_claims(market, pro):
    """The claim statement itself: a second claim for the same (rule, symbol) inside the
    cooldown wins nothing."""
    s = market.add("AAPL", 200)
    r = rule(pro, "AAPL", "price_above", 100)
    t = utcnow()
    assert services.claim([(r.id, s.id, 60)], t) == {(r.id, s.id)}
    db.session.commit()
    assert services.claim([(r.id, s.id, 60)], t + dt.timedelta(minutes=59)) == set()
    assert services.claim([(r.id, s.id, 60)], t + dt.timedelta(minutes=60)) == {(r.id, s.id)}
    db.session.commit()


def test_deleting_an_alert_keeps_its_history(market, pro):
    market.add("AAPL", 200)
    r = rule(pro, "AAPL", "price_above", 150)
    services.evaluate_cycle()
    services.delete_rule(pro, r.id)
    events, total = services.list_events(pro, services.EventFilter())
    assert total == 1 and events[0].rule_id is None and events[0].rule_name == r.name
    assert db.session.scalar(select(func.count()).select_from(services.AlertRuleState)) == 0
