"""Per-strategy benchmark: SPY by default, QQQ / IWM, or the sector ETF of the universe."""
import numpy as np
import pytest

from app.errors import InvalidInput
from app.extensions import db
from app.models import Stock
from app.strategies import data as sdata
from app.strategies import services


def _strategy(owner, **kw):
    return services.create_strategy(owner, name="Cross", category="momentum", universe="AAA, BBB",
                                    entry_rule="crosses_above(sma(close, 5), sma(close, 20))",
                                    exit_rule="crosses_below(sma(close, 5), sma(close, 20))",
                                    sizing_pct="20", stop_loss_pct="", take_profit_pct="", visibility="public", **kw)


@pytest.fixture()
def market(bars):
    aaa, bbb = bars.add("AAA", seed=1), bars.add("BBB", seed=2)
    aaa.sector = bbb.sector = "Energy"
    bars.add("SPY", closes=np.linspace(100, 150, 300))
    bars.add("XLE", closes=np.linspace(100, 80, 300))
    db.session.commit()


def test_default_benchmark_is_spy(owner, market):
    s = _strategy(owner)
    assert s.benchmark == "SPY"
    bt = services.start_backtest(owner, s.id)
    db.session.refresh(bt)
    assert bt.params["benchmark"] == "SPY"
    assert bt.metrics["benchmark"] == "SPY buy-and-hold"
    assert bt.metrics["benchmark_return"] == pytest.approx(0.5, abs=1e-9)


def test_sector_benchmark_uses_the_universes_sector_etf(owner, market):
    s = _strategy(owner, benchmark="sector")
    assert sdata.benchmark_symbol("sector", ["AAA", "BBB"]) == "XLE"
    bt = services.start_backtest(owner, s.id)
    db.session.refresh(bt)
    assert bt.metrics["benchmark"] == "XLE buy-and-hold"
    assert bt.metrics["benchmark_return"] == pytest.approx(-0.2, abs=1e-9)


def test_missing_benchmark_bars_fall_back_to_equal_weight(owner, market):
    s = _strategy(owner, benchmark="QQQ")
    bt = services.start_backtest(owner, s.id)
    db.session.refresh(bt)
    assert bt.metrics["benchmark"] == "equal-weight index of the universe (QQQ has no bars here)"


def test_unknown_benchmark_is_refused(owner, market):
    with pytest.raises(InvalidInput) as exc:
        _strategy(owner, benchmark="TSLA")
    assert exc.value.field == "benchmark"


def test_sector_without_sectors_is_spy(owner, bars):
    bars.add("CCC", seed=3)
    assert db.session.query(Stock).filter_by(symbol="CCC").one().sector is None
    assert sdata.benchmark_symbol("sector", ["CCC"]) == "SPY"
