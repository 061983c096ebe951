"""The KRX calendar in Korean time (domain.md, "KRX facts")."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from marketgate.calendar import (
    KST,
    elapsed_fraction,
    is_session,
    next_session,
    previous_session,
    session_hours,
    session_state,
    trading_date,
)


def kst(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=KST)


def utc(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


@pytest.mark.parametrize("day", [date(2024, 10, 1), date(2025, 6, 3)])
def test_ad_hoc_holidays_are_not_sessions(day):
    assert not is_session(day)
    assert session_hours(day) is None


def test_weekends_and_new_years_eve_are_not_sessions():
    assert not is_session(date(2025, 6, 14))
    assert not is_session(date(2025, 12, 31))
    assert is_session(date(2025, 6, 16))


def test_a_regular_session_runs_from_nine_to_half_past_three():
    assert session_hours(date(2025, 6, 16)) == (kst(2025, 6, 16, 9), kst(2025, 6, 16, 15, 30))


@pytest.mark.parametrize("day", [date(2025, 1, 2), date(2026, 1, 2), date(2024, 1, 2)])
def test_the_first_session_of_the_year_opens_at_ten(day):
    opens, closes = session_hours(day)
    assert (opens.hour, opens.minute) == (10, 0)
    assert (closes.hour, closes.minute) == (15, 30)


def test_the_second_session_of_the_year_opens_at_nine():
    assert session_hours(date(2025, 1, 3))[0] == kst(2025, 1, 3, 9)


def test_the_college_exam_day_opens_at_ten_and_closes_at_half_past_four():
    assert session_hours(date(2025, 11, 13)) == (kst(2025, 11, 13, 10), kst(2025, 11, 13, 16, 30))


@pytest.mark.parametrize(("now", "state"), [
    (kst(2025, 6, 16, 8, 59), "pre_open"),
    (kst(2025, 6, 16, 9, 0), "open"),
    (kst(2025, 6, 16, 15, 29), "open"),
    (kst(2025, 6, 16, 15, 30), "closed"),
    (kst(2025, 6, 3, 11, 0), "holiday"),
    (kst(2025, 6, 14, 11, 0), "holiday"),
    (kst(2025, 1, 2, 9, 30), "pre_open"),
    (kst(2025, 11, 13, 9, 30), "pre_open"),
    (kst(2025, 11, 13, 16, 0), "open"),
    (kst(2025, 11, 13, 16, 30), "closed"),
])
def test_session_state(now, state):
    assert session_state(now) == state


def test_session_state_reads_utc_times_in_korean_time():
    assert session_state(utc(2025, 6, 16, 1, 0)) == "open"  # 10:00 KST
    assert session_state(utc(2025, 6, 16, 23, 30)) == "pre_open"  # 06-17 08:30 KST


def test_before_the_open_the_trading_date_is_the_previous_session():
    # 2025-06-16 23:30 UTC is 2025-06-17 08:30 KST: Tuesday has not opened yet.
    assert trading_date(utc(2025, 6, 16, 23, 30)) == date(2025, 6, 16)


def test_a_monday_morning_before_the_open_is_still_fridays_trading_date():
    # Sunday 23:30 UTC is Monday 08:30 KST; the UTC date (Sunday) is never the answer.
    assert trading_date(utc(2025, 6, 15, 23, 30)) == date(2025, 6, 13)


def test_after_the_open_the_trading_date_is_today_in_korea_not_in_utc():
    # Tuesday 00:30 UTC is Tuesday 09:30 KST; and Monday 15:00 UTC is Tuesday 00:00 KST.
    assert trading_date(utc(2025, 6, 17, 0, 30)) == date(2025, 6, 17)
    assert trading_date(utc(2025, 6, 16, 15, 0)) == date(2025, 6, 16)


def test_the_trading_date_on_a_holiday_is_the_session_before():
    assert trading_date(kst(2025, 6, 3, 12)) == date(2025, 6, 2)
    assert trading_date(kst(2024, 10, 1, 12)) == date(2024, 9, 30)


def test_the_trading_date_of_a_late_open_waits_for_ten_oclock():
    assert trading_date(kst(2025, 1, 2, 9, 30)) == date(2024, 12, 30)
    assert trading_date(kst(2025, 1, 2, 10, 0)) == date(2025, 1, 2)


def test_previous_and_next_session_skip_holidays():
    assert previous_session(date(2025, 6, 4)) == date(2025, 6, 2)
    assert next_session(date(2025, 6, 2)) == date(2025, 6, 4)
    assert next_session(date(2024, 9, 30)) == date(2024, 10, 2)


@pytest.mark.parametrize(("now", "fraction"), [
    (kst(2025, 6, 16, 8, 0), 0.0),
    (kst(2025, 6, 16, 12, 15), 0.5),
    (kst(2025, 6, 16, 16, 0), 1.0),
    (kst(2025, 11, 13, 13, 15), 0.5),  # exam day: 10:00-16:30
])
def test_elapsed_fraction_of_the_session(now, fraction):
    assert elapsed_fraction(now) == pytest.approx(fraction)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        session_state(datetime(2025, 6, 16, 10, 0))
