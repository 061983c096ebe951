"""/healthz, /readyz and `manage.py check_health`: real checks, 503 naming what failed (to
staff; anonymous callers of /readyz hear only the verdict)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from stockgate.models import TaskHeartbeat
from stockgate.ops import watchdog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _healthy_defaults(settings, clean_redis, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Outside a session unless a test says otherwise (the gate is then never stale).
    monkeypatch.setattr("marketgate.health.gate_session", lambda gate, now: "closed")
    settings.HEALTH_REQUIRE_FEED = False
    settings.WATCHDOG_SESSION_TASKS = []
    settings.WATCHDOG_ALERT_WEBHOOK_URL = ""
    from django_celery_beat.models import PeriodicTask

    PeriodicTask.objects.all().delete()


def staff() -> Client:
    """A staff session: /readyz names checks, errors and the commit only to monitoring callers."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get_or_create(username="ops-staff", defaults={"is_staff": True})[0]
    client = Client()
    client.force_login(user)
    return client


def beat_ticked(seconds_ago: float) -> None:
    now = timezone.now()
    for task in (watchdog.BEAT_TICK, watchdog.BEAT_STARTED):
        TaskHeartbeat.objects.update_or_create(task=task, defaults={"last_finished": now - timedelta(seconds=seconds_ago)})


def test_healthz_answers_without_checking_dependencies() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_200_with_every_check_when_healthy() -> None:
    beat_ticked(1)
    response = staff().get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert {"database", "redis", "channel_layer", "scheduler", "gate", "feed"} <= set(body["checks"])
    assert body["checks"]["channel_layer"]["round_trip_ms"] >= 0
    assert body["version"] and body["commit"]


def test_readyz_is_503_naming_a_dead_beat(settings) -> None:  # type: ignore[no-untyped-def]
    beat_ticked(settings.WATCHDOG_BEAT_MAX_AGE_SECONDS + 5)
    response = staff().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["scheduler"]


def test_readyz_is_503_naming_an_unreachable_redis(settings) -> None:  # type: ignore[no-untyped-def]
    from stockgate.ops import health

    beat_ticked(1)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    health._probe_client.cache_clear()
    try:
        response = staff().get("/readyz")
    finally:
        health._probe_client.cache_clear()
    assert response.status_code == 503
    assert "redis" in response.json()["failing"]


def test_readyz_names_a_stale_gate_during_the_session(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from marketgate import health as market_health
    from tests.factories import gate

    beat_ticked(1)
    monkeypatch.setattr(market_health, "gate_session", lambda g, now: "open")
    monkeypatch.setattr("marketgate.gate.freshness._market_session", lambda now: "open")
    gate(computed_at=timezone.now() - timedelta(hours=1))
    body = staff().get("/readyz").json()
    assert body["failing"] == ["gate"]
    assert body["checks"]["gate"]["stale"] is True


def test_readyz_requires_the_feed_when_configured(settings) -> None:  # type: ignore[no-untyped-def]
    settings.HEALTH_REQUIRE_FEED = True
    beat_ticked(1)
    body = staff().get("/readyz").json()
    assert body["failing"] == ["feed"]
    assert body["checks"]["feed"]["state"] == "down"


def test_anonymous_readyz_hears_only_the_verdict(settings) -> None:  # type: ignore[no-untyped-def]
    beat_ticked(1)
    response = Client().get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    beat_ticked(settings.WATCHDOG_BEAT_MAX_AGE_SECONDS + 5)
    response = Client().get("/readyz")
    assert response.status_code == 503 and response.json() == {"status": "fail"}  # not which part, nor why


def test_check_health_exits_zero_when_healthy(capsys) -> None:  # type: ignore[no-untyped-def]
    beat_ticked(1)
    call_command("check_health")
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_check_health_exits_nonzero_when_unhealthy(settings, capsys) -> None:  # type: ignore[no-untyped-def]
    beat_ticked(settings.WATCHDOG_BEAT_MAX_AGE_SECONDS + 5)
    with pytest.raises(SystemExit) as exc:
        call_command("check_health")
    assert exc.value.code == 1
    assert json.loads(capsys.readouterr().out)["failing"] == ["scheduler"]


def test_check_health_beat_role_reads_the_tick(settings) -> None:  # type: ignore[no-untyped-def]
    beat_ticked(1)
    call_command("check_health", "--role", "beat", "--quiet")
    beat_ticked(settings.WATCHDOG_BEAT_MAX_AGE_SECONDS + 5)
    with pytest.raises(SystemExit):
        call_command("check_health", "--role", "beat", "--quiet")


def test_readyz_does_not_leak_channel_layer_subscriptions() -> None:
    from channels.layers import get_channel_layer

    beat_ticked(1)
    for _ in range(3):
        staff().get("/readyz")
    layer = get_channel_layer()
    loop_layers = getattr(layer, "_layers", {})
    assert all(not any(ch.startswith(f"{layer.prefix}health.") for ch in inner.channels) for inner in loop_layers.values())
