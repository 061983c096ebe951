"""/metrics: Prometheus text with the transport, task and scheduler metrics."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

NAMES = (
    "stockgate_ws_connections",
    "stockgate_ws_subscriptions",
    "stockgate_ws_frames_sent_total",
    "stockgate_ws_frames_dropped_total",
    "stockgate_ws_slow_disconnects_total",
    "stockgate_fanout_seconds",
    "stockgate_task_duration_seconds",
    "stockgate_beat_heartbeat_age_seconds",
    "stockgate_scheduler_late",
)


def test_metrics_expose_every_documented_family() -> None:
    from stockgate.ops.metrics import TASK_SECONDS
    from stockgate.realtime import metrics

    metrics.SUBSCRIPTIONS.labels(kind="price")
    TASK_SECONDS.labels(task="x", outcome="success").observe(0.1)
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in NAMES:
        assert f"# TYPE {name}" in text or f"# HELP {name}" in text, name


def test_metrics_token_is_enforced_when_set(settings) -> None:  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = "s3cret"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_metrics_answer_when_the_database_is_away(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database down")

    monkeypatch.setattr("stockgate.ops.watchdog.watchdog_state", broken)
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert "stockgate_ws_connections" in response.content.decode()
