"""The live (1-minute) update equals a full recomputation with the quote as a new bar."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from app.market import compute
from app.market.providers.simulated import SimulatedProvider


@pytest.fixture(scope="module")
def year():
    return SimulatedProvider(seed=11).bars(["AAA", "BBB", "CCC"], "1d", dt.date(2024, 9, 1), dt.date(2025, 11, 26)).frame


def test_to_matrix_right_aligns_short_histories():
    f = pd.DataFrame({"symbol": ["A", "A", "A", "B"], "ts": [1, 2, 3, 3], "close": [1.0, 2.0, 3.0, 9.0]})
    syms, m = compute.to_matrix(f, ["close"])
    assert list(syms) == ["A", "B"]
    np.testing.assert_array_equal(m["close"][1], [np.nan, np.nan, 9.0])


def test_daily_values_match_indicator_library(year):
    from app.market import indicators as ind
    out = compute.daily_indicators(year).set_index("symbol")
    a = year[year["symbol"] == "AAA"]
    c = a["close"].to_numpy()
    assert out.loc["AAA", "sma50"] == pytest.approx(c[-50:].mean())
    assert out.loc["AAA", "rsi14"] == pytest.approx(ind.rsi(c, 14)[-1])
    assert out.loc["AAA", "week52_high"] == pytest.approx(a["high"].to_numpy()[-252:].max())
    assert out.loc["AAA", "avg_volume"] == pytest.approx(a["volume"].to_numpy()[-63:].mean())
    assert out.loc["AAA", "gap_pct"] == pytest.approx((a["open"].iat[-1] / c[-2] - 1) * 100)


def test_live_update_equals_full_recompute(year):
    state = compute.daily_indicators(year).set_index("symbol")
    nxt = pd.Timestamp("2025-11-28", tz="UTC")
    quotes = pd.DataFrame({
        "price": [101.5, 55.25, 7.5], "open": [100.0, 56.0, 7.9], "high": [102.0, 57.0, 8.0],
        "low": [99.0, 55.0, 7.4], "volume": [1_000_000, 200_000, 50], "volume_fraction": 1.0,
    }, index=pd.Index(["AAA", "BBB", "CCC"], name="symbol"))
    quotes["prev_close"] = state["base_close"].reindex(quotes.index)
    live = compute.live_indicators(state, quotes)
    new_bars = quotes.reset_index().rename(columns={"price": "close"}).assign(ts=nxt)[
        ["symbol", "ts", "open", "high", "low", "close", "volume"]]
    full = compute.daily_indicators(pd.concat([year, new_bars]).sort_values(["symbol", "ts"])).set_index("symbol")
    for col in ["sma20", "sma50", "sma200", "ema12", "ema26", "macd", "macd_signal", "macd_hist",
                "rsi14", "atr14", "bb_upper", "bb_mid", "bb_lower", "week52_high", "week52_low",
                "week52_high_dist_pct", "week52_low_dist_pct", "gap_pct", "atr_pct"]:
        np.testing.assert_allclose(live[col].to_numpy(), full.loc[live.index, col].to_numpy(),
                                   rtol=1e-9, atol=1e-9, err_msg=col)


def test_volume_fraction_is_u_shaped_and_complete():
    f = compute.volume_fraction(np.array([0, 30, 195, 360, 390]), 390)
    assert f[-1] == pytest.approx(1.0)
    assert np.all(np.diff(f) > 0)
    assert f[1] > 30 / 390  # the first half hour trades more than its share
    assert compute.volume_fraction(210, 210) == pytest.approx(1.0)  # early close


def test_intraday_indicators_vwap():
    ts = pd.date_range("2025-11-26 14:30", periods=3, freq="10min", tz="UTC")
    f = pd.DataFrame({"symbol": "A", "ts": ts, "high": [11.0, 12, 13], "low": [9.0, 10, 11],
                      "close": [10.0, 11, 12], "volume": [100, 300, 0]})
    out = compute.intraday_indicators(f, ts[0]).set_index("symbol")
    assert out.loc["A", "vwap"] == pytest.approx((10 * 100 + 11 * 300) / 400)
    assert np.isnan(out.loc["A", "rsi14_10m"])
