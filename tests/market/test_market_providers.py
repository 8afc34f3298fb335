"""Providers against fixtures in each provider's real response format (no network)."""
import datetime as dt
import os

import numpy as np
import pandas as pd
import pytest

from app.market.providers import get_provider
from app.market.providers import yahoo as yahoo_mod
from app.market.providers.base import ProviderError
from app.market.providers.csvdir import CsvProvider
from app.market.providers.simulated import SimulatedProvider
from app.market.providers.stooq import StooqProvider, parse_csv

FIX = os.path.join(os.path.dirname(__file__), "fixtures")
UTC = dt.UTC


# --- simulated -------------------------------------------------------------------------
def test_simulated_is_deterministic_and_seed_dependent():
    a = SimulatedProvider(seed=1).bars(["AAPL", "MSFT"], "1d", dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    b = SimulatedProvider(seed=1).bars(["MSFT", "AAPL"], "1d", dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    c = SimulatedProvider(seed=2).bars(["AAPL", "MSFT"], "1d", dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert not np.allclose(a.frame["close"], c.frame["close"])
    # one row per session: 2025 Q1 has 60 XNYS sessions (Jan 1, Jan 9, Jan 20, Feb 17 closed)
    assert (a.frame.groupby("symbol").size() == 60).all()


def test_simulated_windows_agree_and_bars_are_valid():
    p = SimulatedProvider(seed=3)
    year = p.bars(["XOM"], "1d", dt.date(2025, 1, 1), dt.date(2025, 12, 31)).frame
    week = p.bars(["XOM"], "1d", dt.date(2025, 6, 2), dt.date(2025, 6, 6)).frame
    merged = week.merge(year, on=["symbol", "ts"], suffixes=("", "_y"))
    assert len(merged) == 5
    assert np.allclose(merged["close"], merged["close_y"])
    f = year
    assert (f["high"] >= f[["open", "close"]].max(axis=1)).all()
    assert (f["low"] <= f[["open", "close"]].min(axis=1)).all()
    assert (f["low"] > 0).all() and (f["volume"] > 0).all()
    # overnight gaps exist: open differs from the previous close
    assert (f["open"].to_numpy()[1:] != f["close"].to_numpy()[:-1]).mean() > 0.9


def test_simulated_intraday_bars_consistent_with_daily_bar():
    p = SimulatedProvider(seed=5)
    day = dt.date(2025, 11, 28)  # early close: 13:00 ET, 210 minutes
    daily = p.bars(["NVDA", "F"], "1d", day, day).frame.set_index("symbol")
    for interval, n in (("1m", 210), ("10m", 21)):
        intra = p.bars(["NVDA", "F"], interval, dt.datetime(2025, 11, 28, tzinfo=UTC),
                       dt.datetime(2025, 11, 29, tzinfo=UTC)).frame
        for sym, g in intra.groupby("symbol"):
            d = daily.loc[sym]
            assert len(g) == n
            assert g["open"].iloc[0] == pytest.approx(d["open"])
            assert g["close"].iloc[-1] == pytest.approx(d["close"])
            assert g["high"].max() == pytest.approx(d["high"])
            assert g["low"].min() == pytest.approx(d["low"])
            assert g["volume"].sum() == d["volume"]
            assert g["ts"].iloc[0] == pd.Timestamp("2025-11-28 14:30", tz="UTC")
            # U-shaped volume profile: first and last bars busier than the middle
            v = g["volume"].to_numpy()
            assert v[0] > np.median(v) and v[-1] > np.median(v)


def test_simulated_quotes_move_each_minute_and_end_at_the_close():
    p = SimulatedProvider(seed=9)
    t1 = dt.datetime(2025, 11, 26, 15, 0, tzinfo=UTC)
    q1 = p.quotes(["AAPL", "KO"], now=t1).frame.set_index("symbol")
    q2 = p.quotes(["AAPL", "KO"], now=t1 + dt.timedelta(minutes=1)).frame.set_index("symbol")
    again = p.quotes(["KO", "AAPL"], now=t1).frame.set_index("symbol")
    assert (q1["price"] != q2["price"]).all()
    assert q1.loc["AAPL", "price"] == again.loc["AAPL", "price"]
    assert (q2["volume"] > q1["volume"]).all()
    daily = p.bars(["AAPL"], "1d", dt.date(2025, 11, 24), dt.date(2025, 11, 26)).frame
    after = p.quotes(["AAPL"], now=dt.datetime(2025, 11, 26, 23, 0, tzinfo=UTC)).frame.iloc[0]
    assert after["price"] == pytest.approx(daily["close"].iloc[-1])
    assert after["prev_close"] == pytest.approx(daily["close"].iloc[-2])
    assert after["high"] == pytest.approx(daily["high"].iloc[-1])
    assert after["volume"] == daily["volume"].iloc[-1]


def test_simulated_always_open_moves_on_a_weekend():
    p = SimulatedProvider(seed=9, always_open=True)
    sat = dt.datetime(2025, 11, 29, 12, 0, tzinfo=UTC)
    a = p.quotes(["AAPL"], now=sat).frame.iloc[0]
    b = p.quotes(["AAPL"], now=sat + dt.timedelta(minutes=1)).frame.iloc[0]
    assert a["price"] != b["price"]
    closed = SimulatedProvider(seed=9).quotes(["AAPL"], now=sat).frame.iloc[0]
    closed2 = SimulatedProvider(seed=9).quotes(["AAPL"], now=sat + dt.timedelta(minutes=1)).frame.iloc[0]
    assert closed["price"] == closed2["price"]


def test_get_provider_names():
    assert get_provider("simulated").simulated is True
    assert get_provider("yahoo").name == "yahoo"
    assert get_provider("stooq").name == "stooq"
    assert get_provider("csv", csv_dir=FIX).name == "csv"
    with pytest.raises(ValueError, match="unknown MARKET_DATA_PROVIDER"):
        get_provider("bloomberg")


# --- yahoo (yf.download mocked with frames in its real shape) ---------------------------
def _yf_frame(name):
    df = pd.read_csv(os.path.join(FIX, name), header=[0, 1], index_col=0)
    df.index = pd.to_datetime(df.index, utc=name.endswith("5m.csv"))
    if name.endswith("5m.csv"):
        df.index = df.index.tz_convert("America/New_York")
    df.columns.names = ["Price", "Ticker"]
    return df


@pytest.fixture
def yf_download(monkeypatch):
    import yfinance as yf

    calls = []

    def install(result):
        def fake(tickers, **kw):
            calls.append((list(tickers), kw))
            if isinstance(result, Exception):
                raise result
            return result(tickers, kw) if callable(result) else result
        monkeypatch.setattr(yf, "download", fake)
        return calls
    return install


def test_yahoo_daily_bars_parse_partial_success(yf_download):
    calls = yf_download(_yf_frame("yahoo_download_1d.csv"))
    batch = yahoo_mod.YahooProvider().bars(["AAPL", "BRK.B", "ZZZZ"], "1d",
                                           dt.date(2025, 11, 21), dt.date(2025, 11, 26))
    f = batch.frame
    assert calls[0][0] == ["AAPL", "BRK-B", "ZZZZ"] and calls[0][1]["interval"] == "1d"
    assert calls[0][1]["end"] == "2025-11-27"  # yfinance's end is exclusive
    assert sorted(f["symbol"].unique()) == ["AAPL", "BRK.B"]
    assert batch.errors == {"ZZZZ": "yahoo: no data"}
    assert batch.dropped == {"duplicate_timestamp": 1}
    aapl = f[f["symbol"] == "AAPL"]
    assert len(aapl) == 4
    assert aapl["ts"].iloc[0] == pd.Timestamp("2025-11-21", tz="UTC")
    assert aapl["close"].iloc[0] == pytest.approx(271.49, abs=1e-4)
    assert aapl["volume"].iloc[0] == 59030800


def test_yahoo_10m_bars_resampled_from_5m(yf_download):
    calls = yf_download(_yf_frame("yahoo_download_5m.csv"))
    batch = yahoo_mod.YahooProvider().bars(["AAPL", "MSFT"], "10m", dt.date(2025, 11, 28), dt.date(2025, 11, 28))
    assert calls[0][1]["interval"] == "5m"
    aapl = batch.frame[batch.frame["symbol"] == "AAPL"].reset_index(drop=True)
    assert list(aapl["ts"]) == [pd.Timestamp("2025-11-28 14:30", tz="UTC"), pd.Timestamp("2025-11-28 14:40", tz="UTC")]
    assert aapl.loc[0, "open"] == pytest.approx(277.26, abs=1e-3)
    assert aapl.loc[0, "close"] == pytest.approx(277.60, abs=1e-3)
    assert aapl.loc[0, "high"] == pytest.approx(277.85, abs=1e-3)
    assert aapl.loc[0, "volume"] == 1108223 + 512311
    msft = batch.frame[batch.frame["symbol"] == "MSFT"]
    assert len(msft) == 2 and msft["volume"].iloc[1] == 98000


def test_yahoo_quotes_from_last_two_daily_bars(yf_download):
    yf_download(_yf_frame("yahoo_download_1d.csv"))
    now = dt.datetime(2025, 11, 26, 18, 0, tzinfo=UTC)
    q = yahoo_mod.YahooProvider().quotes(["AAPL", "BRK.B", "ZZZZ"], now=now)
    row = q.frame.set_index("symbol").loc["AAPL"]
    assert row["price"] == pytest.approx(277.55, abs=1e-4)
    assert row["prev_close"] == pytest.approx(276.97, abs=1e-4)
    assert q.errors == {"ZZZZ": "yahoo: no data"}


def test_yahoo_empty_frame_and_exception_raise_provider_error(yf_download):
    yf_download(pd.DataFrame())
    with pytest.raises(ProviderError, match="empty frame"):
        yahoo_mod.YahooProvider().bars(["AAPL"], "1d", dt.date(2025, 1, 1), dt.date(2025, 1, 5))
    yf_download(ConnectionError("Failed to perform, curl: (56) CONNECT tunnel failed, response 407"))
    with pytest.raises(ProviderError) as exc:
        yahoo_mod.YahooProvider(proxy="http://p:1").quotes(["AAPL"])
    assert exc.value.proxy_error == "connect_407"


def test_yahoo_single_ticker_flat_columns(yf_download):
    wide = _yf_frame("yahoo_download_1d.csv")
    flat = wide.xs("AAPL", axis=1, level="Ticker")
    yf_download(flat)
    f = yahoo_mod.YahooProvider().bars(["AAPL"], "1d", dt.date(2025, 11, 21), dt.date(2025, 11, 26)).frame
    assert set(f["symbol"]) == {"AAPL"} and len(f) == 4


# --- stooq (requests mocked at the HTTP boundary) ---------------------------------------
class FakeResponse:
    def __init__(self, status, text):
        self.status_code, self.text = status, text


class FakeSession:
    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def get(self, url, params=None, timeout=None, proxies=None):
        self.calls.append((url, params, proxies))
        ans = self.answers[params["s"]]
        if isinstance(ans, Exception):
            raise ans
        return ans


def test_stooq_daily_csv_and_no_data_symbol():
    with open(os.path.join(FIX, "stooq_aapl_us.csv")) as fh:
        text = fh.read()
    sess = FakeSession({"aapl.us": FakeResponse(200, text), "nope.us": FakeResponse(200, "No data")})
    batch = StooqProvider(session=sess).bars(["AAPL", "NOPE"], "1d", dt.date(2025, 11, 20), dt.date(2025, 11, 26))
    assert sess.calls[0][1] == {"s": "aapl.us", "i": "d", "d1": "20251120", "d2": "20251126"}
    f = batch.frame
    assert len(f) == 5 and f["close"].iloc[-1] == pytest.approx(277.55)
    assert f["ts"].iloc[0] == pd.Timestamp("2025-11-20", tz="UTC")
    assert batch.errors == {"NOPE": "stooq: no data"}


def test_stooq_http_errors_raise():
    import requests
    sess = FakeSession({"aapl.us": FakeResponse(503, "busy")})
    with pytest.raises(ProviderError) as exc:
        StooqProvider(session=sess).bars(["AAPL"], "1d", dt.date(2025, 1, 1), dt.date(2025, 1, 2))
    assert exc.value.status == 503
    sess = FakeSession({"aapl.us": requests.exceptions.ConnectTimeout("timed out")})
    with pytest.raises(ProviderError) as exc:
        StooqProvider(session=sess).bars(["AAPL"], "1d", dt.date(2025, 1, 1), dt.date(2025, 1, 2))
    assert exc.value.proxy_error == "timeout"


def test_stooq_parse_rejects_garbage():
    with pytest.raises(ValueError, match="unexpected columns"):
        parse_csv("<html>oops</html>\n", "AAPL")


# --- csv directory ------------------------------------------------------------------------
def test_csv_provider_validates_and_names_file_and_line():
    p = CsvProvider(os.path.join(FIX, "csvdir"))
    batch = p.bars(["GOOD", "BAD", "NOHEAD", "MISSING"], "1d", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert batch.errors["BAD"] == "BAD.csv, line 3: bad number 'ten' in column high"
    assert batch.errors["NOHEAD"].startswith("NOHEAD.csv, line 1: missing column(s) date, volume")
    assert "no file MISSING.csv" in batch.errors["MISSING"]
    good = batch.frame[batch.frame["symbol"] == "GOOD"]
    # 5 rows: one duplicate date, one high<low, one NaN open
    assert len(good) == 2
    assert batch.dropped == {"duplicate_timestamp": 1, "high_below_low": 1, "nan_or_inf_price": 1}
    assert good["close"].iloc[-1] == pytest.approx(10.85)  # the last duplicate wins


def test_csv_quotes_use_last_two_rows():
    q = CsvProvider(os.path.join(FIX, "csvdir")).quotes(["GOOD"], now=dt.datetime(2025, 12, 1, tzinfo=UTC))
    row = q.frame.iloc[0]
    assert row["price"] == pytest.approx(10.85) and row["prev_close"] == pytest.approx(10.20)
