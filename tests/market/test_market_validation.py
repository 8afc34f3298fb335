import numpy as np
import pandas as pd

from app.market.validation import clean_bars, clean_quotes


def bars(rows):
    df = pd.DataFrame(rows, columns=["symbol", "ts", "open", "high", "low", "close", "volume"])
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    return df


def test_drops_impossible_rows_and_counts_them():
    df = bars([
        ("A", "2025-01-02", 10, 11, 9, 10.5, 100),
        ("A", "2025-01-03", np.nan, 11, 9, 10.5, 100),
        ("A", "2025-01-06", 10, np.inf, 9, 10.5, 100),
        ("A", "2025-01-07", -1, 11, 9, 10.5, 100),
        ("A", "2025-01-08", 10, 11, 0, 10.5, 100),
        ("A", "2025-01-09", 10, 9, 11, 10.5, 100),
        ("A", "2025-01-10", 10, 11, 9, 10.5, -5),
        ("A", "2025-01-02", 10, 11, 9, 10.7, 100),
    ])
    out, dropped, flags = clean_bars(df)
    assert dropped == {"nan_or_inf_price": 2, "nonpositive_price": 2, "high_below_low": 1,
                       "negative_volume": 1, "duplicate_timestamp": 1}
    assert len(out) == 1 and out["close"].iloc[0] == 10.7 and flags == {}


def test_split_without_volume_spike_is_kept_and_flagged():
    rows = [("S", f"2025-01-{d:02d}", 100, 101, 99, 100, 1000) for d in range(2, 10)]
    rows.append(("S", "2025-01-10", 50, 51, 49, 50, 1100))   # 2:1 split, normal volume
    rows += [("N", f"2025-01-{d:02d}", 10, 11, 9, 10, 1000) for d in range(2, 10)]
    rows.append(("N", "2025-01-10", 5, 6, 4, 5, 9000))        # crash on huge volume: news
    out, dropped, flags = clean_bars(bars(rows))
    assert len(out) == 18 and dropped == {}
    assert list(flags) == ["S"]
    assert "suspected split at 2025-01-10" in flags["S"] and "x0.50" in flags["S"]


def test_open_outside_range_widens_high_low():
    out, _, _ = clean_bars(bars([("A", "2025-01-02", 12, 11, 9, 10, 1)]))
    assert out["high"].iloc[0] == 12


def test_clean_quotes():
    q = pd.DataFrame({
        "symbol": ["A", "B", "C", "D"], "ts": pd.Timestamp("2025-01-02", tz="UTC"),
        "price": [10.0, np.nan, -1.0, 5.0], "prev_close": [9.0, 1, 1, np.inf],
        "open": [9.5, 1, 1, 5], "high": [9.9, 1, 1, 5.5], "low": [9.4, 1, 1, 4.9],
        "volume": [100, 1, 1, np.nan],
    })
    out, dropped = clean_quotes(q)
    assert list(out["symbol"]) == ["A", "D"]
    assert dropped == {"nan_or_inf_price": 1, "nonpositive_price": 1}
    assert out["high"].iloc[0] == 10.0  # widened to include the price
    assert np.isnan(out["prev_close"].iloc[1]) and out["volume"].iloc[1] == 0
