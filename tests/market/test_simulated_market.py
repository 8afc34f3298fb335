"""Distribution tests of the simulated market: plausible prices and market caps after
five simulated years, index correlation, preset membership, ETFs built from their
constituents. One module-scoped simulation keeps the runtime small (~3 s)."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from app.market.instruments import ETFS, GICS_SECTORS
from app.market.providers.simulated import SimulatedProvider, _etf_params, stock_params
from app.market.universe import seed_universe

START, END = dt.date(2020, 1, 2), dt.date(2025, 1, 2)


@pytest.fixture(scope="module")
def market():
    syms = [r["symbol"] for r in seed_universe()]
    frame = SimulatedProvider(seed=42).bars(syms, "1d", START, END).frame
    return {c: frame.pivot(index="ts", columns="symbol", values=c) for c in ("open", "high", "low", "close", "volume")}


def _stocks(df):
    return df[[c for c in df.columns if c not in ETFS]]


def test_prices_stay_plausible_after_five_years(market):
    last = _stocks(market["close"]).iloc[-1]
    share = ((last >= 5) & (last <= 1000)).mean()
    assert share >= 0.95, share
    assert (last > 1).all()  # nothing drifts to sub-dollar levels


def test_market_caps_are_plausible():
    syms = [r["symbol"] for r in seed_universe() if r["asset_type"] == "stock"]
    p = stock_params(42, syms)
    cap = p["shares"] * p["price0"]
    assert ((cap >= 3e8) & (cap <= 3.5e12)).mean() >= 0.99
    assert 10 <= (cap >= 2e11).sum() <= 120  # a few dozen mega caps, as in the real market


def test_stocks_correlate_with_the_index_like_real_ones(market):
    r = np.log(market["close"]).diff().iloc[1:]
    corr = _stocks(r).corrwith(r["SPY"])
    assert 0.3 <= corr.median() <= 0.7, corr.median()
    assert corr.between(0.2, 0.8).mean() >= 0.9


def test_spy_is_built_from_its_constituents(market):
    ep = _etf_params(42)
    r = np.log(market["close"]).diff().iloc[1:]
    for etf in ("SPY", "XLK", "IWM"):
        members, w = ep[etf]["constituents"], ep[etf]["weights"]
        basket = r[members].to_numpy() @ w
        assert np.corrcoef(basket, r[etf])[0, 1] > 0.99, etf
    # the sector SPDRs only hold their sector
    assert set(ep["XLK"]["constituents"]) <= {r["symbol"] for r in seed_universe()
                                             if r["sector"] == "Information Technology"}


def test_presets_have_members_on_most_days(market):
    """Gap up/down, unusual volume, new highs/lows, golden/death cross: members on >= 80 % of
    the sessions of the last year (the same definitions the presets screen with)."""
    c, o = _stocks(market["close"]), _stocks(market["open"])
    prev = c.shift(1)
    gap = (o / prev - 1) * 100
    vol = _stocks(market["volume"]).astype(float)
    rel = vol / vol.rolling(20).mean().shift(1)
    hi = _stocks(market["high"]).rolling(251).max().shift(1)
    lo = _stocks(market["low"]).rolling(251).min().shift(1)
    d = c.rolling(50).mean() - c.rolling(200).mean()
    presets = {
        "gap-up": gap >= 4, "gap-down": gap <= -4, "unusual-volume": rel >= 3,
        "new-highs": c >= hi, "new-lows": c <= lo,
        "golden-cross": (d > 0) & (d.rolling(10).min() < 0), "death-cross": (d < 0) & (d.rolling(10).max() > 0),
    }
    for name, members in presets.items():
        days_with = (members.iloc[-252:].sum(axis=1) > 0).mean()
        assert days_with >= 0.8, (name, days_with)


def test_same_seed_same_market_and_history_is_stable():
    p = SimulatedProvider(seed=7)
    a = p.bars(["AAPL", "SPY"], "1d", dt.date(2024, 1, 2), dt.date(2024, 3, 1)).frame
    b = p.bars(["SPY", "AAPL"], "1d", dt.date(2023, 6, 1), dt.date(2025, 6, 1)).frame
    merged = a.merge(b, on=["symbol", "ts"], suffixes=("", "_b"))
    assert len(merged) == len(a)
    assert np.array_equal(merged["close"], merged["close_b"])


def test_every_seeded_stock_has_one_of_the_eleven_sectors():
    rows = [r for r in seed_universe() if r["asset_type"] == "stock"]
    sectors = {r["sector"] for r in rows}
    assert sectors == set(GICS_SECTORS)
    assert all(r["industry"] for r in rows)


def test_quote_at_any_minute_stays_inside_the_days_bar():
    """A quote never contradicts the chart: its price, high and low lie within the
    session's daily bar, and its previous close is the previous bar's close."""
    p = SimulatedProvider(seed=9)
    day = dt.date(2025, 11, 26)
    bars = p.bars(["AAPL", "SPY", "XLE"], "1d", dt.date(2025, 11, 24), day).frame
    today = bars[bars["ts"] == pd.Timestamp(day, tz="UTC")].set_index("symbol")
    before = bars[bars["ts"] == pd.Timestamp(dt.date(2025, 11, 25), tz="UTC")].set_index("symbol")
    for minute in (1, 90, 389):
        t = dt.datetime(2025, 11, 26, 14, 30, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)
        q = p.quotes(["AAPL", "SPY", "XLE"], now=t).frame.set_index("symbol")
        assert (q["low"] >= today["low"] - 1e-9).all() and (q["high"] <= today["high"] + 1e-9).all()
        assert (q["price"].between(today["low"], today["high"])).all()
        assert np.allclose(q["prev_close"], before.loc[q.index, "close"])
        assert np.allclose(q["open"], today.loc[q.index, "open"])
