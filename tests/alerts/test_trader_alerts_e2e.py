"""Trader alerts through a real Celery worker: a gate colour change and a new S signal
each reach the webhook receiver exactly once; a failing receiver is retried, then the
failure is in the delivery log and the worker's log."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from signals.models import ScanRun
from stockgate.alerts.models import AlertDelivery, AlertDestination, AlertRule
from tests import factories
from tests.processes import worker
from tests.services import WebhookReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _destination(owner, url: str, *events: tuple[str, dict]) -> AlertDestination:  # type: ignore[no-untyped-def]
    destination = AlertDestination.objects.create(owner=owner, name=url[-12:], kind="webhook", url=url)
    for event, params in events:
        AlertRule.objects.create(destination=destination, event=event, params=params)
    return destination


def _settled(destination: AlertDestination, timeout: float = 30) -> AlertDelivery | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery = AlertDelivery.objects.filter(destination=destination).exclude(status="pending").first()
        if delivery is not None:
            return delivery
        time.sleep(0.2)
    return None


def test_gate_change_and_new_s_signal_each_deliver_once_and_a_failing_receiver_is_retried_then_logged(clean_redis):
    ok, failing = WebhookReceiver(), WebhookReceiver(status=503)
    owner = get_user_model().objects.create_user("desk")
    good = _destination(owner, ok.url, ("gate_colour", {}), ("signal_grade", {"min_grade": "S"}))
    bad = _destination(owner, failing.url, ("gate_colour", {}))
    celery = worker(ALERTS_ALLOW_PRIVATE_URLS="true", ALERTS_RETRY_BACKOFF_SECONDS="0.5", ALERTS_MAX_RETRIES="2",
                    WATCHDOG_IN_WORKER="false").start()
    try:
        earlier = timezone.now() - timedelta(minutes=5)
        factories.gate(status="GREEN", level=71, computed_at=earlier, as_of=earlier)
        factories.gate(status="RED", level=31)  # the colour change
        run = ScanRun.objects.create(status="running")
        factories.signal("005930", grade="S", score=90, scan_run=run)
        factories.signal("000660", grade="A", score=80, name="SK하이닉스", scan_run=run)
        run.status = "succeeded"
        run.save()
        ok.wait_for(2, timeout=30)
        failed = _settled(bad)
        time.sleep(2)  # long enough for a duplicate to arrive, if the code sent one
        output = celery.output()
    finally:
        celery.stop()
        ok.close()
        failing.close()
    texts = sorted(ok.texts())
    assert len(texts) == 2, (texts, output[-3000:])
    assert texts[0].startswith("마켓 게이트 초록 → 빨강") and texts[1].startswith("새 VCP 신호 S등급: 삼성전자(005930)")
    assert AlertDelivery.objects.filter(destination=good, status="sent").count() == 2
    assert failed is not None and failed.status == "failed" and failed.attempts == 3, output[-3000:]
    assert len(failing.bodies) == 3 and "HTTP 503" in failed.last_error
    assert "failed after 3 attempt(s)" in output
