"""The demo clock: real time, or a whole KRX session squeezed into a few wall minutes."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from marketgate.calendar import KST, is_session
from marketgate.data.providers.demo.clock import simulated_now


def test_real_clock_maps_now_to_itself():
    now = datetime(2025, 6, 17, 11, 5, 3, tzinfo=KST)
    assert simulated_now(now, "real") == now


def test_accelerated_clock_starts_a_loop_at_the_open():
    assert simulated_now(datetime(2025, 6, 17, 14, 0, tzinfo=KST), "accelerated", 30) == datetime(
        2025, 6, 17, 9, 0, tzinfo=KST
    )


def test_accelerated_clock_runs_a_session_in_the_configured_minutes():
    # 15 wall minutes into a 30-minute loop is half of 09:00-15:30: 12:15.
    assert simulated_now(datetime(2025, 6, 17, 14, 15, tzinfo=KST), "accelerated", 30) == datetime(
        2025, 6, 17, 12, 15, tzinfo=KST
    )


def test_accelerated_clock_loops():
    first = simulated_now(datetime(2025, 6, 17, 14, 10, tzinfo=KST), "accelerated", 30)
    again = simulated_now(datetime(2025, 6, 17, 14, 40, tzinfo=KST), "accelerated", 30)
    assert first == again


def test_accelerated_clock_is_always_inside_a_session_even_at_night_and_on_weekends():
    wall = datetime(2025, 6, 14, 2, 0, tzinfo=KST)  # a Saturday night
    for minute in range(0, 24 * 60, 7):
        sim = simulated_now(wall + timedelta(minutes=minute), "accelerated", 30)
        assert is_session(sim.date())
        assert time(9, 0) <= sim.time() < time(15, 30)


def test_accelerated_clock_uses_the_last_session_on_a_closed_day():
    sim = simulated_now(datetime(2025, 6, 15, 10, 0, tzinfo=KST), "accelerated", 30)  # Sunday
    assert sim.date().isoformat() == "2025-06-13"


def test_accelerated_clock_moves_thirteen_times_faster_than_the_wall():
    start = simulated_now(datetime(2025, 6, 17, 10, 1, tzinfo=KST), "accelerated", 30)
    later = simulated_now(datetime(2025, 6, 17, 10, 2, tzinfo=KST), "accelerated", 30)
    assert later - start == timedelta(minutes=13)


def test_simulated_time_carries_the_korean_offset():
    sim = simulated_now(datetime(2025, 6, 17, 3, 0, tzinfo=KST).astimezone(tz=None), "accelerated", 30)
    assert sim.utcoffset() == timedelta(hours=9)


def test_naive_time_is_refused():
    with pytest.raises(ValueError):
        simulated_now(datetime(2025, 6, 17, 10, 0), "accelerated", 30)
