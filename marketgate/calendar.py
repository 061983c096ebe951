"""The KRX trading calendar in Korean time. Pure: no Django, `now` is a parameter.

exchange_calendars' XKRX knows the holidays (including the ad-hoc 2024-10-01 and
2025-06-03 closures) and the 10:00 open of the first session of the year; the
college-entrance-exam day (10:00-16:30) is added here.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")
SessionState = Literal["pre_open", "open", "closed", "holiday"]

REGULAR_OPEN = time(9, 0)
REGULAR_CLOSE = time(15, 30)
LATE_OPEN = time(10, 0)
# 대학수학능력시험: the market opens an hour late and closes an hour late.
EXAM_DAYS: frozenset[date] = frozenset(
    {
        date(2022, 11, 17),
        date(2023, 11, 16),
        date(2024, 11, 14),
        date(2025, 11, 13),
        date(2026, 11, 19),
        date(2027, 11, 18),
    }
)
EXAM_CLOSE = time(16, 30)


def _cache_file() -> Path:
    from importlib.metadata import version

    folder = Path(os.environ.get("STOCKGATE_VAR_DIR") or tempfile.gettempdir())
    # The calendar's range moves with the date it is built on: rebuild monthly.
    stamp = datetime.now(KST).strftime("%Y%m")
    return folder / f"xkrx-sessions-{version('exchange_calendars')}-{stamp}.txt"


@lru_cache(maxsize=1)
def _sessions() -> tuple[date, date, frozenset[date]]:
    """(first, last, every session) of XKRX. Building the exchange_calendars object takes
    many seconds, so its sessions are cached in a small file shared by every process."""
    path = _cache_file()
    try:
        days = [date.fromisoformat(line) for line in path.read_text().split()]
    except (OSError, ValueError):
        import exchange_calendars

        cal = exchange_calendars.get_calendar("XKRX")
        days = [ts.date() for ts in cal.sessions]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text("\n".join(d.isoformat() for d in days))
            partial.replace(path)  # atomic: readers never see half a file
        except OSError:
            pass  # a read-only disk only costs the next process the build time
    return days[0], days[-1], frozenset(days)


def warm_up() -> None:
    """Load the calendar now (process start) rather than on the first request."""
    _sessions()


@lru_cache(maxsize=4096)
def is_session(day: date) -> bool:
    """True when the KRX trades on `day` (weekdays only outside the calendar's range)."""
    first, last, sessions = _sessions()
    if first <= day <= last:
        return day in sessions
    return day.weekday() < 5


def _is_first_session_of_year(day: date) -> bool:
    probe = date(day.year, 1, 1)
    while probe < day:
        if is_session(probe):
            return False
        probe += timedelta(days=1)
    return is_session(day)


def session_hours(day: date) -> tuple[datetime, datetime] | None:
    """(open, close) as KST-aware datetimes, or None when `day` is not a session."""
    if not is_session(day):
        return None
    opens, closes = REGULAR_OPEN, REGULAR_CLOSE
    if day in EXAM_DAYS:
        opens, closes = LATE_OPEN, EXAM_CLOSE
    elif _is_first_session_of_year(day):
        opens = LATE_OPEN
    return datetime.combine(day, opens, KST), datetime.combine(day, closes, KST)


def previous_session(day: date) -> date:
    probe = day - timedelta(days=1)
    while not is_session(probe):
        probe -= timedelta(days=1)
    return probe


def next_session(day: date) -> date:
    probe = day + timedelta(days=1)
    while not is_session(probe):
        probe += timedelta(days=1)
    return probe


def kst_date(now: datetime) -> date:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(KST).date()


def session_state(now: datetime) -> SessionState:
    day = kst_date(now)
    hours = session_hours(day)
    if hours is None:
        return "holiday"
    opens, closes = hours
    if now < opens:
        return "pre_open"
    if now < closes:
        return "open"
    return "closed"


def trading_date(now: datetime) -> date:
    """The session in progress, or the last one that has opened (never a UTC date)."""
    day = kst_date(now)
    hours = session_hours(day)
    if hours is not None and now >= hours[0]:
        return day
    return previous_session(day)


def elapsed_fraction(now: datetime) -> float:
    """Share of today's session that has elapsed, 0.0 before the open, 1.0 after the close."""
    hours = session_hours(kst_date(now))
    if hours is None:
        return 1.0
    opens, closes = hours
    if now <= opens:
        return 0.0
    if now >= closes:
        return 1.0
    return (now - opens) / (closes - opens)
