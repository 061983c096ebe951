"""When a periodic task counts as late (pure rules, no database)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from stockgate.ops.lateness import CronSpec, TaskSchedule, assess, beat_is_late, next_fire_after

KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 2, 3, 10, 0, tzinfo=KST)  # a Tuesday
LONG_AGO = NOW - timedelta(days=30)
WEEKDAYS_1645 = CronSpec(
    minutes=frozenset({45}), hours=frozenset({16}), days_of_week=frozenset({1, 2, 3, 4, 5}),
    days_of_month=frozenset(range(1, 32)), months=frozenset(range(1, 13)), tz=KST,
)


def every(seconds: float, grace: float = 60, session_only: bool = False) -> TaskSchedule:
    return TaskSchedule("gate", "marketgate.tasks.update_market_gate", seconds, None, grace, session_only)


def test_interval_task_within_period_plus_grace_is_ok() -> None:
    result = assess(every(300), NOW - timedelta(seconds=359), NOW, known_since=LONG_AGO)
    assert result.state == "ok" and not result.late


def test_interval_task_past_period_plus_grace_is_late() -> None:
    result = assess(every(300), NOW - timedelta(seconds=361), NOW, known_since=LONG_AGO)
    assert result.late
    assert result.due_by == NOW - timedelta(seconds=1)


def test_task_that_never_ran_is_pending_until_its_first_period_has_passed() -> None:
    assert assess(every(300), None, NOW, known_since=NOW - timedelta(seconds=100)).state == "pending"
    assert assess(every(300), None, NOW, known_since=NOW - timedelta(seconds=400)).late


def test_a_restarted_scheduler_gives_every_task_a_fresh_period() -> None:
    result = assess(every(300), NOW - timedelta(hours=2), NOW, known_since=NOW - timedelta(seconds=30))
    assert result.state == "ok"


def test_session_only_task_is_never_late_outside_the_session() -> None:
    result = assess(every(300, session_only=True), NOW - timedelta(hours=20), NOW, known_since=LONG_AGO, session_open=None)
    assert result.state == "idle"


def test_session_only_task_is_measured_from_the_open_not_from_yesterday() -> None:
    opened = NOW.replace(hour=9, minute=0)
    yesterday = NOW - timedelta(hours=19)
    assert assess(every(300, session_only=True), yesterday, opened + timedelta(minutes=5), known_since=LONG_AGO,
                  session_open=opened).state == "ok"
    assert assess(every(300, session_only=True), yesterday, opened + timedelta(minutes=7), known_since=LONG_AGO,
                  session_open=opened).late


def test_next_fire_after_skips_to_the_next_weekday() -> None:
    friday_evening = datetime(2026, 2, 6, 17, 0, tzinfo=KST)
    assert next_fire_after(WEEKDAYS_1645, friday_evening) == datetime(2026, 2, 9, 16, 45, tzinfo=KST)


def test_next_fire_after_is_strictly_after() -> None:
    at_fire = datetime(2026, 2, 3, 16, 45, tzinfo=KST)
    assert next_fire_after(WEEKDAYS_1645, at_fire) == datetime(2026, 2, 4, 16, 45, tzinfo=KST)


def test_crontab_task_is_late_once_a_fire_time_passed_grace_ago_without_a_run() -> None:
    schedule = TaskSchedule("scan", "signals.tasks.scan_vcp", None, WEEKDAYS_1645, 600)
    ran_monday = datetime(2026, 2, 2, 16, 46, tzinfo=KST)
    tuesday_1650 = datetime(2026, 2, 3, 16, 50, tzinfo=KST)
    tuesday_1700 = datetime(2026, 2, 3, 16, 56, tzinfo=KST)
    assert assess(schedule, ran_monday, tuesday_1650, known_since=LONG_AGO).state == "ok"
    assert assess(schedule, ran_monday, tuesday_1700, known_since=LONG_AGO).late


def test_crontab_task_is_not_late_over_the_weekend() -> None:
    schedule = TaskSchedule("scan", "signals.tasks.scan_vcp", None, WEEKDAYS_1645, 600)
    ran_friday = datetime(2026, 2, 6, 16, 46, tzinfo=KST)
    sunday = datetime(2026, 2, 8, 12, 0, tzinfo=KST)
    assert assess(schedule, ran_friday, sunday, known_since=LONG_AGO).state == "ok"


def test_beat_is_late_after_its_max_age_of_silence() -> None:
    assert not beat_is_late(NOW - timedelta(seconds=59), NOW, 60, known_since=LONG_AGO)
    assert beat_is_late(NOW - timedelta(seconds=61), NOW, 60, known_since=LONG_AGO)


def test_beat_that_never_ticked_is_late_only_after_the_limit_from_when_we_started_watching() -> None:
    assert not beat_is_late(None, NOW, 60, known_since=NOW - timedelta(seconds=10))
    assert beat_is_late(None, NOW, 60, known_since=NOW - timedelta(seconds=61))
