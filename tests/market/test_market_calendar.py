import datetime as dt

import pytest

from app.market import calendar as mcal

UTC = dt.UTC


def t(s):
    """An ET wall-clock time as UTC."""
    return dt.datetime.fromisoformat(s).replace(tzinfo=mcal.ET).astimezone(UTC)


def test_holiday_is_closed_all_day():
    assert not mcal.is_session(dt.date(2025, 12, 25))
    assert not mcal.is_open(t("2025-12-25T11:00"))
    assert mcal.last_completed_session(t("2025-12-25T11:00")) == dt.date(2025, 12, 24)
    # Dec 24 2025 is itself an early close (13:00 ET)
    assert mcal.session_open_close(dt.date(2025, 12, 24))[1] == t("2025-12-24T13:00")
    with pytest.raises(ValueError):
        mcal.session_open_close(dt.date(2025, 12, 25))


def test_early_close_day_after_thanksgiving():
    o, c = mcal.session_open_close(dt.date(2025, 11, 28))
    assert o == t("2025-11-28T09:30") and c == t("2025-11-28T13:00")
    assert mcal.is_open(t("2025-11-28T12:59"))
    assert not mcal.is_open(t("2025-11-28T13:00"))
    assert mcal.session_minutes(dt.date(2025, 11, 28)) == 210
    assert mcal.daily_session_due(t("2025-11-28T13:10")) is None
    assert mcal.daily_session_due(t("2025-11-28T13:30")) == dt.date(2025, 11, 28)


def test_regular_day_open_close_and_daily_job():
    assert not mcal.is_open(t("2025-11-26T09:29"))
    assert mcal.is_open(t("2025-11-26T09:30"))
    assert mcal.current_session(t("2025-11-26T15:59")) == dt.date(2025, 11, 26)
    assert not mcal.is_open(t("2025-11-26T16:00"))
    assert mcal.daily_session_due(t("2025-11-26T16:29")) is None
    assert mcal.daily_session_due(t("2025-11-26T16:30")) == dt.date(2025, 11, 26)
    assert mcal.daily_session_due(t("2025-11-26T12:00")) is None  # open: not yet
    assert mcal.last_completed_session(t("2025-11-26T12:00")) == dt.date(2025, 11, 25)
    # next morning before the open the previous session is still due (catch-up)
    assert mcal.daily_session_due(t("2025-11-27T08:00")) == dt.date(2025, 11, 26)  # Thanksgiving


def test_weekend():
    sat = t("2025-11-29T11:00")
    assert not mcal.is_open(sat) and not mcal.is_session(dt.date(2025, 11, 29))
    assert mcal.last_completed_session(sat) == dt.date(2025, 11, 28)
    assert mcal.next_session(dt.date(2025, 11, 28)) == dt.date(2025, 12, 1)
    assert mcal.previous_session(dt.date(2025, 11, 30)) == dt.date(2025, 11, 28)
    assert mcal.sessions_in_range(dt.date(2025, 11, 26), dt.date(2025, 12, 1)) == [
        dt.date(2025, 11, 26), dt.date(2025, 11, 28), dt.date(2025, 12, 1)]


def test_market_clock_modes():
    sat = t("2025-11-29T11:00")
    assert mcal.MarketClock("always-open").is_open(sat)
    assert not mcal.MarketClock("calendar").is_open(sat)
    assert mcal.clock_for("always-open", provider_simulated=True).always_open
    assert not mcal.clock_for("always-open", provider_simulated=False).always_open
    with pytest.raises(ValueError):
        mcal.MarketClock("sometimes")


def test_format_et_writes_the_zone():
    assert mcal.format_et(t("2025-11-28T13:00")) == "Nov 28, 2025 13:00 ET"
    assert mcal.format_et(dt.datetime(2025, 7, 1, 20, 0, tzinfo=UTC)) == "Jul 01, 2025 16:00 ET"
