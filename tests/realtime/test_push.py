"""post_save -> on_commit -> one broadcast; nothing is sent for a rolled-back save."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from tests import factories

pytestmark = pytest.mark.django_db


def _history(redis_client, topic_group: str) -> list[bytes]:
    from django.conf import settings

    return redis_client.lrange(f"{settings.REALTIME_PREFIX}:topic:{topic_group}:history", 0, -1)


def test_saving_a_gate_broadcasts_after_commit(clean_redis, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        factories.gate(level=12, status="RED")
    assert _history(clean_redis, "market-gate") == []  # nothing before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    (frame,) = _history(clean_redis, "market-gate")
    assert b'"type":"market_gate_update"' in frame and b'"level":12' in frame


def test_a_rolled_back_save_sends_nothing(clean_redis, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                factories.gate(level=13)
                raise RuntimeError("abort")
        except RuntimeError:
            pass
    assert _history(clean_redis, "market-gate") == []


def test_a_failed_broadcast_never_loses_the_row(clean_redis, django_capture_on_commit_callbacks, settings, caplog):
    from prometheus_client import REGISTRY

    from marketgate.models import MarketGate
    from stockgate.realtime import redis_conn

    def failures() -> float:
        return REGISTRY.get_sample_value("stockgate_broadcast_failures_total", {"kind": "market-gate"}) or 0.0

    before = failures()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    redis_conn.reset_clients()
    try:
        with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
            row = factories.gate(level=14)
    finally:
        redis_conn.reset_clients()
    # What must survive: the committed row. What must be said: one counted, logged failure.
    assert MarketGate.objects.filter(pk=row.pk, level=14).exists()
    assert failures() == before + 1
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR and "broadcast" in r.getMessage()]
    assert "market-gate" in record.getMessage() and "failed" in record.getMessage()
    assert _history(clean_redis, "market-gate") == []  # nothing reached the topic either


def test_signals_broadcast_is_one_frame_for_the_whole_list(clean_redis):
    from signals.push import broadcast_signals

    day = factories.signal("005930").signal_date
    factories.signal("000660", name="SK하이닉스", signal_date=day)
    broadcast_signals(day)
    (frame,) = _history(clean_redis, "signal.vcp")
    assert frame.count(b'"ticker"') == 2 and b'"count":2' in frame
