"""The scheduler watchdog: notices a dead beat or a late periodic task, says so, recovers.

Inputs are rows every process can read: beat's tick heartbeat and each task's
heartbeat (TaskHeartbeat), and the enabled schedules (django_celery_beat). The verdict
is recomputed on demand (`watchdog_state()`, for /readyz and the dashboard's initial
state) and every WATCHDOG_INTERVAL_SECONDS by `check_and_act()`, which runs in every
worker (a thread) or in `manage.py watchdog`. A late subject opens a WatchdogIncident;
the partial unique constraint lets exactly one process open (and later close) it, and
that process logs the error, calls the alert webhook and broadcasts an `ops_update`.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from stockgate.ops.lateness import Assessment, CronSpec, TaskSchedule, assess, beat_is_late

log = logging.getLogger(__name__)

BEAT_TICK = "celery.beat"  # TaskHeartbeat row the beat process renews while its loop runs
BEAT_STARTED = "celery.beat.started"  # when the running beat process started
BEAT_SUBJECT = "beat"
OPS_TOPIC = "ops"
_IGNORED_TASKS = frozenset({"celery.backend_cleanup"})
_process_started = timezone.now()


class TaskStateDict(TypedDict):
    name: str
    task: str
    state: str  # ok | late | pending | idle
    stale: bool
    last_finished: str | None
    due_by: str | None
    age_seconds: float | None


class BeatStateDict(TypedDict):
    alive: bool
    last_tick: str | None
    age_seconds: float | None
    max_age_seconds: float


class WatchdogStateDict(TypedDict):
    scheduler_late: bool
    beat: BeatStateDict
    tasks: list[TaskStateDict]
    late: list[str]
    checked_at: str


def _iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def _cron_spec(crontab: Any) -> CronSpec:
    sched = crontab.schedule
    return CronSpec(
        minutes=frozenset(sched.minute),
        hours=frozenset(sched.hour),
        days_of_week=frozenset(sched.day_of_week),
        days_of_month=frozenset(sched.day_of_month),
        months=frozenset(sched.month_of_year),
        tz=ZoneInfo(str(crontab.timezone)),
    )


def load_schedules() -> list[TaskSchedule]:
    """The enabled periodic tasks, as the rules module understands them."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    session_only = set(settings.WATCHDOG_SESSION_TASKS)
    grace = settings.WATCHDOG_GRACE_SECONDS
    result = []
    tasks = PeriodicTask.objects.filter(enabled=True).select_related("interval", "crontab")
    for task in tasks:
        if task.task in _IGNORED_TASKS or task.one_off:
            continue
        every = cron = None
        if task.interval is not None:
            unit = {
                IntervalSchedule.DAYS: 86400,
                IntervalSchedule.HOURS: 3600,
                IntervalSchedule.MINUTES: 60,
                IntervalSchedule.SECONDS: 1,
                IntervalSchedule.MICROSECONDS: 1e-6,
            }[task.interval.period]
            every = task.interval.every * unit
        elif task.crontab is not None:
            cron = _cron_spec(task.crontab)
        else:
            continue  # solar/clocked schedules: not watched
        result.append(
            TaskSchedule(task.name, task.task, every, cron, grace, task.name in session_only or task.task in session_only)
        )
    return result


def _session_open(now: datetime) -> datetime | None:
    if not settings.WATCHDOG_SESSION_PROBE:
        return None
    probe = import_string(settings.WATCHDOG_SESSION_PROBE)
    result: datetime | None = probe(now)
    return result


def assess_all(now: datetime) -> tuple[BeatStateDict, list[Assessment]]:
    from stockgate.models import TaskHeartbeat

    beats = {hb.task: hb for hb in TaskHeartbeat.objects.all()}
    tick = beats.get(BEAT_TICK)
    started = beats.get(BEAT_STARTED)
    last_tick = tick.last_finished if tick else None
    max_age = settings.WATCHDOG_BEAT_MAX_AGE_SECONDS
    beat: BeatStateDict = {
        "alive": not beat_is_late(last_tick, now, max_age, known_since=_process_started),
        "last_tick": _iso(last_tick),
        "age_seconds": round((now - last_tick).total_seconds(), 1) if last_tick else None,
        "max_age_seconds": max_age,
    }
    # A task is expected from the moment the running beat started: after a beat outage
    # every schedule gets a fresh period before it can be called late again.
    known_since = started.last_finished if started else _process_started
    schedules = load_schedules()
    session_open = _session_open(now) if any(s.session_only for s in schedules) else None
    assessments = []
    for schedule in schedules:
        hb = beats.get(schedule.task)
        assessments.append(
            assess(schedule, hb.last_finished if hb else None, now, known_since=known_since, session_open=session_open)
        )
    return beat, assessments


def watchdog_state(now: datetime | None = None) -> WatchdogStateDict:
    """What the dashboard shows: `scheduler_late` drives the "scheduler is late" banner,
    each task's `stale` its STALE badge."""
    now = now or timezone.now()
    beat, assessments = assess_all(now)
    tasks: list[TaskStateDict] = [
        {
            "name": a.name,
            "task": a.task,
            "state": a.state,
            "stale": a.late,
            "last_finished": _iso(a.last_finished),
            "due_by": _iso(a.due_by),
            "age_seconds": round(a.age_seconds, 1) if a.age_seconds is not None else None,
        }
        for a in assessments
    ]
    late = [a.name for a in assessments if a.late]
    return {
        "scheduler_late": not beat["alive"] or bool(late),
        "beat": beat,
        "tasks": tasks,
        "late": late,
        "checked_at": _iso(now) or "",
    }


def ops_message(state: WatchdogStateDict) -> dict[str, Any]:
    return {"type": "ops_update", "topic": OPS_TOPIC, "timestamp": state["checked_at"], "data": state}


# --- incidents ---


def _late_subjects(state: WatchdogStateDict) -> dict[str, str]:
    """subject -> description. While beat is down every task falls behind; that is one
    incident (beat's), not one per task."""
    if not state["beat"]["alive"]:
        age = state["beat"]["age_seconds"]
        since = f"{age:.0f} s ago" if age is not None else "never"
        return {BEAT_SUBJECT: f"the scheduler (celery beat) is late: last tick {since}"}
    subjects = {}
    for task in state["tasks"]:
        if task["stale"]:
            subjects[task["name"]] = (
                f"periodic task {task['name']} is late: last finished {task['last_finished'] or 'never'}, "
                f"due by {task['due_by']}"
            )
    return subjects


def _open(subject: str, detail: str, now: datetime) -> bool:
    from stockgate.models import WatchdogIncident

    try:
        with transaction.atomic():
            WatchdogIncident.objects.create(subject=subject, opened_at=now, detail=detail)
    except IntegrityError:
        return False  # already open (this process or another saw it first)
    return True


def _close(subject: str, now: datetime) -> datetime | None:
    from stockgate.models import WatchdogIncident

    incident = WatchdogIncident.objects.filter(subject=subject, closed_at__isnull=True).first()
    if incident is None:
        return None
    closed = WatchdogIncident.objects.filter(pk=incident.pk, closed_at__isnull=True).update(closed_at=now)
    return incident.opened_at if closed else None


def check_and_act(now: datetime | None = None) -> WatchdogStateDict:
    """One watchdog pass: open and close incidents, alert once each, broadcast changes."""
    from stockgate.models import WatchdogIncident

    now = now or timezone.now()
    state = watchdog_state(now)
    late = _late_subjects(state)
    changed = False
    for subject, detail in late.items():
        if _open(subject, detail, now):
            changed = True
            log.error("WATCHDOG: %s", detail)
            _alert(f":rotating_light: [stockgate] {detail}")
    open_subjects = WatchdogIncident.objects.filter(closed_at__isnull=True).values_list("subject", flat=True)
    for subject in list(open_subjects):
        if subject in late:
            continue
        opened_at = _close(subject, now)
        if opened_at is not None:
            changed = True
            minutes = (now - opened_at).total_seconds() / 60
            what = "the scheduler (celery beat)" if subject == BEAT_SUBJECT else f"periodic task {subject}"
            log.warning("WATCHDOG: recovered: %s is on time again after %.1f min", what, minutes)
            _alert(f":white_check_mark: [stockgate] recovered: {what} is on time again (late for {minutes:.1f} min)")
    if changed or _fingerprint(state) != _last_published.get("fingerprint"):
        _publish(state)
    return state


def _alert(text: str) -> None:
    from stockgate.ops.webhook import send_alert

    if settings.WATCHDOG_ALERT_WEBHOOK_URL:
        # Off the watchdog's own thread: a slow chat service must not delay the next pass.
        threading.Thread(target=send_alert, args=(text,), name="watchdog-alert", daemon=True).start()


_last_published: dict[str, object] = {}


def _fingerprint(state: WatchdogStateDict) -> tuple[object, ...]:
    return (state["beat"]["alive"], tuple(state["late"]))


def _publish(state: WatchdogStateDict) -> None:
    from stockgate.realtime.broadcast import publish_safely

    if publish_safely(OPS_TOPIC, ops_message(state)) is not None:
        _last_published["fingerprint"] = _fingerprint(state)


# --- where it runs ---


def run_forever(stop: threading.Event, interval: float | None = None) -> None:
    interval = interval or settings.WATCHDOG_INTERVAL_SECONDS
    while not stop.is_set():
        started = time.monotonic()
        try:
            close_old_connections()
            check_and_act()
        except Exception:
            # The database or Redis is away: say so and try again next pass.
            log.exception("watchdog pass failed")
            try:
                connection.close()
            except Exception:
                pass
        stop.wait(max(0.5, interval - (time.monotonic() - started)))


_thread: threading.Thread | None = None
_stop = threading.Event()


def start_thread() -> threading.Thread:
    """Run the watchdog in a daemon thread of this process (once)."""
    global _thread
    if _thread is None or not _thread.is_alive():
        _stop.clear()
        _thread = threading.Thread(target=run_forever, args=(_stop,), name="watchdog", daemon=True)
        _thread.start()
    return _thread


def stop_thread() -> None:
    _stop.set()


# --- beat's own heartbeat ---


def record_beat_tick(*, started: bool = False) -> None:
    from stockgate.models import TaskHeartbeat

    now = timezone.now()
    try:
        if started:
            TaskHeartbeat.objects.update_or_create(task=BEAT_STARTED, defaults={"last_finished": now, "last_success": now})
        TaskHeartbeat.objects.update_or_create(task=BEAT_TICK, defaults={"last_finished": now, "last_success": now})
    except Exception:
        log.warning("could not record beat's heartbeat", exc_info=True)
        try:
            connection.close()
        except Exception:
            pass


def install_beat_heartbeat(service: Any) -> None:
    """Wrap the scheduler's tick so beat renews its heartbeat while its loop really runs
    (whatever scheduler class `-S` names); a wedged loop stops renewing it."""
    scheduler = service.scheduler
    original = scheduler.tick
    every = settings.BEAT_HEARTBEAT_SECONDS
    last = [0.0]

    def tick(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        now = time.monotonic()
        if now - last[0] >= every:
            last[0] = now
            record_beat_tick()
        return result

    scheduler.tick = tick
    record_beat_tick(started=True)
    last[0] = time.monotonic()


def beat_heartbeat_age(now: datetime | None = None) -> timedelta | None:
    from stockgate.models import TaskHeartbeat

    hb = TaskHeartbeat.objects.filter(task=BEAT_TICK).first()
    return (now or timezone.now()) - hb.last_finished if hb else None
