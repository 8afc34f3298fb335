"""Exchange calendar (XNYS via ``exchange-calendars``): sessions, holidays, early closes.

All arguments and results are timezone-aware UTC datetimes (naive values are taken as
UTC); session labels are ``datetime.date`` objects. ``MarketClock`` adds the
``always-open`` mode used by the simulated provider so the demo is alive at any
hour; real providers always follow the calendar (see :func:`clock_for`).
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd

ET = ZoneInfo("America/New_York")
UTC = dt.UTC
#: the daily scan runs this long after the session close (16:30 ET on a normal day)
DAILY_DELAY = dt.timedelta(minutes=30)
ALWAYS_OPEN = "always-open"
CALENDAR = "calendar"


@lru_cache(maxsize=1)
def get_calendar() -> xcals.ExchangeCalendar:
    return xcals.get_calendar("XNYS")


def _utc(t: dt.datetime | pd.Timestamp | None) -> pd.Timestamp:
    if t is None:
        return pd.Timestamp.now(tz="UTC")
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _date(session: pd.Timestamp) -> dt.date:
    return session.date()


def is_session(day: dt.date) -> bool:
    """Whether the exchange trades on ``day`` (False on weekends and holidays)."""
    return bool(get_calendar().is_session(pd.Timestamp(day)))


def is_open(t: dt.datetime | None = None) -> bool:
    """Whether the regular session is open at ``t`` (open inclusive, close exclusive)."""
    ts = _utc(t).floor("min")
    return bool(get_calendar().is_open_on_minute(ts))


def session_open_close(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """UTC open and close of the session on ``day`` (early closes included)."""
    cal = get_calendar()
    s = pd.Timestamp(day)
    if not cal.is_session(s):
        raise ValueError(f"{day} is not a trading session")
    return (cal.session_open(s).to_pydatetime(), cal.session_close(s).to_pydatetime())


def current_session(t: dt.datetime | None = None) -> dt.date | None:
    """The session that is open at ``t``, or None."""
    ts = _utc(t)
    if not is_open(ts):
        return None
    return _date(get_calendar().minute_to_session(ts.floor("min"), direction="none"))


def last_completed_session(t: dt.datetime | None = None) -> dt.date:
    """The most recent session whose close is at or before ``t``."""
    ts = _utc(t)
    cal = get_calendar()
    # date_to_session(previous) gives the session on or before the ET date of ts
    et_day = ts.tz_convert(ET).date()
    s = cal.date_to_session(pd.Timestamp(et_day), direction="previous")
    if cal.session_close(s) > ts:
        s = cal.previous_session(s)
    return _date(s)


def next_session(day: dt.date) -> dt.date:
    cal = get_calendar()
    return _date(cal.date_to_session(pd.Timestamp(day), direction="next")
                 if not cal.is_session(pd.Timestamp(day))
                 else cal.next_session(pd.Timestamp(day)))


def previous_session(day: dt.date) -> dt.date:
    cal = get_calendar()
    s = pd.Timestamp(day)
    if cal.is_session(s):
        return _date(cal.previous_session(s))
    return _date(cal.date_to_session(s, direction="previous"))


def sessions_in_range(start: dt.date, end: dt.date) -> list[dt.date]:
    """Sessions with ``start <= session <= end``, clipped to the calendar's bounds."""
    cal = get_calendar()
    lo = max(pd.Timestamp(start), cal.first_session)
    hi = min(pd.Timestamp(end), cal.last_session)
    if lo > hi:
        return []
    return [d.date() for d in cal.sessions_in_range(lo, hi)]


def daily_session_due(t: dt.datetime | None = None) -> dt.date | None:
    """The session the daily job should process at ``t``, or None.

    Due from session close + :data:`DAILY_DELAY` (16:30 ET; 13:30 ET after an early
    close) until the next session opens. Nothing is due on a weekend or holiday
    morning before... the previous session's data is still due if it was missed, so
    a worker that was down catches up.
    """
    ts = _utc(t)
    if is_open(ts):
        return None
    last = last_completed_session(ts)
    _, close = session_open_close(last)
    return last if ts >= pd.Timestamp(close) + DAILY_DELAY else None


def session_minutes(day: dt.date) -> int:
    o, c = session_open_close(day)
    return int((c - o).total_seconds() // 60)


class MarketClock:
    """Market hours as seen by the scanners.

    ``calendar``: the XNYS calendar. ``always-open``: every minute is a trading minute
    (simulated demo only).
    """

    def __init__(self, mode: str = CALENDAR):
        if mode not in (CALENDAR, ALWAYS_OPEN):
            raise ValueError(f"unknown MARKET_CLOCK {mode!r} (use 'calendar' or 'always-open')")
        self.mode = mode

    @property
    def always_open(self) -> bool:
        return self.mode == ALWAYS_OPEN

    def is_open(self, t: dt.datetime | None = None) -> bool:
        return True if self.always_open else is_open(t)

    def daily_session_due(self, t: dt.datetime | None = None) -> dt.date | None:
        # the daily job follows the real calendar in both modes: bars belong to sessions
        return daily_session_due(t)


def clock_for(setting: str | None, provider_simulated: bool) -> MarketClock:
    """The clock to use: ``always-open`` is honoured only for the simulated provider."""
    if setting == ALWAYS_OPEN and provider_simulated:
        return MarketClock(ALWAYS_OPEN)
    return MarketClock(CALENDAR)


def to_et(t: dt.datetime) -> dt.datetime:
    return _utc(t).tz_convert(ET).to_pydatetime()


def format_et(t: dt.datetime | None, fmt: str = "%b %d, %Y %H:%M") -> str:
    """``Nov 28, 2025 13:00 ET`` — times are always shown in the market's zone."""
    if t is None:
        return "—"
    return to_et(t).strftime(fmt) + " ET"
