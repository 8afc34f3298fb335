"""Validation of incoming market data, vectorised over a whole batch.

Rows that cannot be true are dropped and counted per reason; rows that are odd but
possible (a price jump without a volume spike: probably an unadjusted split) are
kept and flagged, so the run's error summary shows them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

PRICE_COLS = ["open", "high", "low", "close"]

#: close-to-close ratio beyond which a move is a "jump" (either direction)
SPLIT_JUMP_RATIO = 1.6
#: a jump whose volume is below this multiple of the symbol's median volume is flagged
SPLIT_VOLUME_SPIKE = 2.0


def _count(dropped: dict[str, int], reason: str, n: int) -> None:
    if n:
        dropped[reason] = dropped.get(reason, 0) + int(n)


def clean_bars(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int], dict[str, str]]:
    """Return ``(clean frame, dropped counts by reason, flags by symbol)``.

    Dropped: NaN/inf prices, zero or negative prices, high < low, negative volume,
    duplicate (symbol, ts) rows (the last one wins). Flagged: suspected splits.
    """
    dropped: dict[str, int] = {}
    if frame.empty:
        return frame.reset_index(drop=True), dropped, {}
    df = frame.copy()
    for col in PRICE_COLS + ["volume"]:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    prices = df[PRICE_COLS].to_numpy()

    bad_nan = ~np.isfinite(prices).all(axis=1)
    _count(dropped, "nan_or_inf_price", bad_nan.sum())
    keep = ~bad_nan

    with np.errstate(invalid="ignore"):
        bad_sign = keep & (prices <= 0).any(axis=1)
    _count(dropped, "nonpositive_price", bad_sign.sum())
    keep &= ~bad_sign

    bad_hl = keep & (df["high"].to_numpy() < df["low"].to_numpy())
    _count(dropped, "high_below_low", bad_hl.sum())
    keep &= ~bad_hl

    vol = df["volume"].to_numpy()
    bad_vol = keep & np.isfinite(vol) & (vol < 0)
    _count(dropped, "negative_volume", bad_vol.sum())
    keep &= ~bad_vol

    df = df.loc[keep]
    df["volume"] = df["volume"].fillna(0).replace([np.inf], 0).round().astype("int64")
    # open/close outside [low, high] happens in real feeds (auction prints): widen
    df["high"] = df[["open", "high", "close"]].max(axis=1)
    df["low"] = df[["open", "low", "close"]].min(axis=1)

    before = len(df)
    df = df.drop_duplicates(subset=["symbol", "ts"], keep="last")
    _count(dropped, "duplicate_timestamp", before - len(df))

    df = df.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True)
    flags = flag_splits(df)
    return df, dropped, flags


def flag_splits(df: pd.DataFrame) -> dict[str, str]:
    """Suspected splits: a close-to-close jump beyond :data:`SPLIT_JUMP_RATIO`
    on a bar whose volume is not a spike. ``df`` must be sorted by symbol, ts."""
    if len(df) < 2:
        return {}
    sym = df["symbol"].to_numpy()
    close = df["close"].to_numpy()
    same = np.empty(len(df), dtype=bool)
    same[0] = False
    same[1:] = sym[1:] == sym[:-1]
    prev = np.roll(close, 1)
    ratio = np.where(same, close / prev, 1.0)
    jump = (ratio >= SPLIT_JUMP_RATIO) | (ratio <= 1 / SPLIT_JUMP_RATIO)
    if not jump.any():
        return {}
    med = df.groupby("symbol")["volume"].transform("median").to_numpy()
    no_spike = df["volume"].to_numpy() < SPLIT_VOLUME_SPIKE * np.maximum(med, 1)
    hits = np.flatnonzero(jump & no_spike)
    flags: dict[str, str] = {}
    for i in hits:
        s = sym[i]
        msg = (f"suspected split at {pd.Timestamp(df['ts'].iat[i]).date()}: close "
               f"{prev[i]:.2f} -> {close[i]:.2f} (x{ratio[i]:.2f}) without a volume spike")
        flags[s] = msg if s not in flags else flags[s] + "; " + msg
    return flags


def clean_quotes(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop quotes with an unusable price; day high/low widened to include price."""
    dropped: dict[str, int] = {}
    if frame.empty:
        return frame.reset_index(drop=True), dropped
    df = frame.copy()
    for col in ["price", "prev_close", "open", "high", "low", "volume"]:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    price = df["price"].to_numpy()
    bad = ~np.isfinite(price)
    _count(dropped, "nan_or_inf_price", bad.sum())
    with np.errstate(invalid="ignore"):
        nonpos = ~bad & (price <= 0)
    _count(dropped, "nonpositive_price", nonpos.sum())
    keep = ~bad & ~nonpos
    hl = keep & (df["high"].to_numpy() < df["low"].to_numpy())
    _count(dropped, "high_below_low", hl.sum())
    keep &= ~hl
    df = df.loc[keep].copy()
    # optional fields: non-finite or non-positive become missing rather than garbage
    for col in ["prev_close", "open", "high", "low"]:
        v = df[col].to_numpy()
        with np.errstate(invalid="ignore"):
            df[col] = np.where(np.isfinite(v) & (v > 0), v, np.nan)
    df["high"] = np.fmax(df["high"].to_numpy(), df["price"].to_numpy())
    df["low"] = np.fmin(df["low"].to_numpy(), df["price"].to_numpy())
    v = df["volume"].to_numpy()
    df["volume"] = np.where(np.isfinite(v) & (v >= 0), v, 0).round().astype("int64")
    before = len(df)
    df = df.drop_duplicates(subset=["symbol"], keep="last")
    _count(dropped, "duplicate_symbol", before - len(df))
    return df.reset_index(drop=True), dropped
