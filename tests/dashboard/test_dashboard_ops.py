"""The dashboard says when the scheduler is late: the watchdog's verdict in the first
paint, a "scheduler is late" banner (role=alert) with the late tasks, the gate's LIVE
badge turned STALE, and all of it gone again on recovery, by itself.

The last test is the spec's fault drill in a real browser: real web, worker and beat,
beat killed with SIGKILL and restarted."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Count
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from marketgate.models import MarketGate
from stockgate.models import TaskHeartbeat
from stockgate.ops.watchdog import BEAT_STARTED, BEAT_TICK
from stockgate.realtime.broadcast import publish
from tests.dashboard.test_dashboard_view import state_of
from tests.dashboard_support import make_gate, open_page
from tests.faults.test_fault_beat import readyz, wait_until, worker
from tests.processes import Proc, beat, manage, web

BANNER_VISIBLE = "!document.getElementById('ops-banner').hidden"
BANNER_HIDDEN = "document.getElementById('ops-banner').hidden"


def beat_ticked(ago: timedelta = timedelta(0)) -> None:
    """Beat's heartbeat rows as a beat that started (and last ticked) `ago` leaves them."""
    at = timezone.now() - ago
    for task in (BEAT_STARTED, BEAT_TICK):
        TaskHeartbeat.objects.update_or_create(task=task, defaults={"last_finished": at, "last_success": at})


def banner_html(html: str) -> str:
    start = html.index('<div id="ops-banner"')
    return html[start : html.index("</div>", start)]


# --- the page as served (no browser) ---


@pytest.mark.django_db
def test_initial_state_carries_the_watchdog_verdict(client):
    beat_ticked()
    ops = state_of(client.get("/"))["ops"]
    assert ops["scheduler_late"] is False
    assert ops["beat"]["alive"] is True
    assert "update-market-gate" in {t["name"] for t in ops["tasks"]}


@pytest.mark.django_db
def test_banner_container_is_rendered_hidden_while_the_scheduler_is_on_time(client):
    beat_ticked()
    banner = banner_html(client.get("/").content.decode())
    assert 'role="alert"' in banner and 'aria-live="assertive"' in banner
    assert " hidden>" in banner
    assert "스케줄러가 지연되고 있습니다" in banner


@pytest.mark.django_db
def test_banner_is_rendered_visible_when_beat_is_silent(client):
    beat_ticked(ago=timedelta(minutes=10))
    response = client.get("/")
    assert state_of(response)["ops"]["scheduler_late"] is True
    assert " hidden>" not in banner_html(response.content.decode())


@pytest.mark.django_db
def test_banner_speaks_english_by_choice(client):
    beat_ticked(ago=timedelta(minutes=10))
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/").content.decode()
    assert "The scheduler is late" in banner_html(html)
    assert '"gate_not_updated": "Scheduler late: the gate is not being updated"' in html


@pytest.mark.django_db
def test_ops_is_left_out_of_the_page_for_users_the_topic_is_not_for(client, settings):
    settings.WS_TOPIC_PERMISSIONS = {"ops": "staff"}
    state = state_of(client.get("/"))
    assert state["ops"] is None
    assert state["max_price_topics"] == settings.WS_MAX_SUBSCRIPTIONS - 5  # gate, signals, two indices, ops


# --- in the browser, with frames published to the `ops` topic ---


def ops_frame(*, beat_alive: bool = True, late_tasks: tuple[str, ...] = ()) -> dict[str, Any]:
    now = timezone.localtime()
    tasks = [
        {
            "name": name,
            "task": f"app.tasks.{name}",
            "state": "late" if name in late_tasks else "ok",
            "stale": name in late_tasks,
            "last_finished": (now - timedelta(minutes=9)).isoformat(),
            "due_by": (now - timedelta(minutes=2)).isoformat(),
            "age_seconds": 540.0,
        }
        for name in ("update-market-gate", "pipeline-heartbeat")
    ]
    data = {
        "scheduler_late": not beat_alive or bool(late_tasks),
        "beat": {
            "alive": beat_alive,
            "last_tick": (now - timedelta(seconds=75)).isoformat(),
            "age_seconds": 75.0,
            "max_age_seconds": 60.0,
        },
        "tasks": tasks,
        "late": list(late_tasks),
        "checked_at": now.isoformat(),
    }
    return {"type": "ops_update", "topic": "ops", "timestamp": now.isoformat(), "data": data}


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_ops_frames_show_and_clear_the_banner_and_the_stale_badge(browser, server):
    beat_ticked()
    make_gate(62, "YELLOW")
    watched = open_page(browser, server)
    page = watched.page
    watched.wait_subscribed("ops")
    assert page.locator("#ops-banner").is_hidden()
    assert page.locator("#freshness").inner_text() == "LIVE"

    publish("ops", ops_frame(beat_alive=False, late_tasks=("update-market-gate",)))
    page.wait_for_function(BANNER_VISIBLE, timeout=3_000)
    banner = page.locator("#ops-banner")
    assert banner.get_attribute("role") == "alert"
    text = banner.inner_text()
    assert "스케줄러가 지연되고 있습니다" in text
    assert "update-market-gate" in text and "부터 지연" in text and "KST" in text
    assert "pipeline-heartbeat" not in text  # on time: not listed
    assert page.locator("#ops-late li").count() == 2  # beat, the gate task; each with a STALE badge
    assert page.locator("#ops-late .badge").all_inner_texts() == ["STALE", "STALE"]
    assert page.locator("#freshness").inner_text() == "STALE"  # a young row, but nothing recomputes it

    publish("ops", ops_frame())
    page.wait_for_function(BANNER_HIDDEN, timeout=3_000)
    page.wait_for_function("document.getElementById('freshness').textContent === 'LIVE'", timeout=3_000)
    assert watched.errors == []


# --- the fault drill: real processes, beat killed ---

PERIOD = 5.0  # the gate's schedule, set as an admin edit would
GRACE = 5.0  # WATCHDOG_GRACE_SECONDS
MARGIN = 4.0  # a watchdog pass (1 s), the broadcast, the page
FAST = {
    "BEAT_HEARTBEAT_SECONDS": "1",
    "WATCHDOG_BEAT_MAX_AGE_SECONDS": str(PERIOD + GRACE),
    "WATCHDOG_GRACE_SECONDS": str(GRACE),
    "WATCHDOG_INTERVAL_SECONDS": "1",
    "CELERY_BEAT_MAX_LOOP_INTERVAL": "1",
    "HEALTH_REQUIRE_FEED": "false",
    "GATE_PERIOD_SECONDS": str(int(PERIOD)),
    "GATE_STALE_GRACE_SECONDS": str(int(GRACE)),
    "MARKET_DATA_PROVIDER": "demo",
    "DEMO_CLOCK": "accelerated",  # a session is always in progress
    "DEMO_TICKERS": "20",
}


def gate_every(seconds: int) -> None:
    """The admin's edit: the gate on a short interval, the long-running defaults off."""
    gate = PeriodicTask.objects.get(name="update-market-gate")
    gate.interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    gate.save()
    PeriodicTask.objects.exclude(name__in=["update-market-gate", "pipeline-heartbeat"]).update(enabled=False)


def beat_and_gate_running() -> bool:
    beats = {hb.task: hb.last_finished for hb in TaskHeartbeat.objects.all()}
    started = beats.get(BEAT_STARTED)
    gate_ran = beats.get("marketgate.tasks.update_market_gate")
    return started is not None and gate_ran is not None and gate_ran > started


def duplicate_gate_rows() -> list[dict[str, Any]]:
    return list(MarketGate.objects.values("trading_date", "as_of").annotate(n=Count("id")).filter(n__gt=1))


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_killed_beat_shows_the_banner_within_period_plus_grace_and_recovers(browser, clean_redis):
    seeded = manage("seed_demo", timeout=300, **FAST)
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    gate_every(int(PERIOD))
    server = web(**FAST).start()
    work = worker(**FAST).start()
    scheduler: Proc = beat(**FAST).start()
    procs = [server, work, scheduler]
    try:
        # Beat really running (it takes a while to start on a busy machine) and the gate
        # computed by this beat's schedule, then everything ready.
        wait_until(beat_and_gate_running, 90, "beat ticking and the gate task run")
        wait_until(lambda: readyz(server.port)[0] == 200, 60, "all ready at start (a gate computed in session)")
        watched = open_page(browser, server)
        page = watched.page
        watched.wait_subscribed("ops")
        page.wait_for_function("document.getElementById('freshness').textContent === 'LIVE'", timeout=15_000)
        assert page.locator("#ops-banner").is_hidden()

        scheduler.kill()  # SIGKILL: no goodbye, the heartbeat just stops
        killed = time.monotonic()
        page.wait_for_function(BANNER_VISIBLE, timeout=(PERIOD + GRACE + MARGIN) * 1000)
        shown_after = time.monotonic() - killed
        print(f"banner shown {shown_after:.1f} s after beat was killed (bound {PERIOD + GRACE + MARGIN:.0f} s)")
        assert shown_after <= PERIOD + GRACE + MARGIN
        assert page.locator("#freshness").inner_text() == "STALE"
        # The gate's own schedule is late too, measured in session: listed by name.
        page.wait_for_function(
            "document.getElementById('ops-late').textContent.includes('update-market-gate')",
            timeout=(PERIOD + GRACE + MARGIN) * 1000,
        )
        status, body = readyz(server.port)
        assert status == 503 and "scheduler" in body["failing"], body
        assert work.alive() and server.alive()

        scheduler = beat(**FAST).start()
        procs.append(scheduler)
        page.wait_for_function(BANNER_HIDDEN, timeout=30_000)
        page.wait_for_function("document.getElementById('freshness').textContent === 'LIVE'", timeout=30_000)
        wait_until(lambda: readyz(server.port)[0] == 200, 30, "/readyz 200 again")
        rows = MarketGate.objects.count()
        wait_until(lambda: MarketGate.objects.count() > rows, 30, "the gate computed again")
        assert duplicate_gate_rows() == []
        assert watched.script_errors() == []
    finally:
        for proc in procs:
            proc.stop()
