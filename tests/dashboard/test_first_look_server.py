"""Server side of a first look: names for the watchlist, the gate period as edited in the
database, one loop of the demo day on the chart, and a JSON-body error that reads once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import RequestFactory
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from marketgate.calendar import KST
from marketgate.gate.freshness import max_age
from marketgate.gate.period import forget, gate_period_seconds
from marketgate.gate.service import slot_for
from marketgate.models import Instrument
from stockgate.dashboard import gate_history
from stockgate.jsonapi import json_body
from tests.dashboard_support import make_gate

pytestmark = pytest.mark.django_db


def test_instruments_names_known_codes_and_lists_the_unknown(client):
    Instrument.objects.create(ticker="005930", name="삼성전자", name_en="Samsung Electronics", market="KOSPI")
    response = client.get("/api/instruments", {"tickers": "005930,035720,005930"})
    assert response.status_code == 200
    body = response.json()
    assert body["instruments"]["005930"]["name"] == "삼성전자"
    assert body["unknown"] == ["035720"]


@pytest.mark.parametrize("query, says", [
    ({}, "give tickers"),
    ({"tickers": "5930"}, "not a KRX code"),
    ({"tickers": "ABCDEF"}, "not a KRX code"),
    ({"tickers": ",".join(f"{100000 + i}" for i in range(101))}, "at most 100"),
])
def test_instruments_refuses_bad_codes_clearly(client, query, says):
    response = client.get("/api/instruments", query)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request" and says in response.json()["message"]


def _set_period(seconds: int) -> None:
    task = PeriodicTask.objects.get(name="update-market-gate")
    task.interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    task.save()
    forget()


def test_slots_and_staleness_follow_the_schedule_in_the_database(settings):
    settings.GATE_PERIOD_SECONDS = 300
    settings.GATE_STALE_GRACE_SECONDS = 120
    moment = datetime(2025, 6, 16, 10, 1, 30, tzinfo=KST)
    _set_period(60)
    assert gate_period_seconds() == 60
    assert slot_for(moment) == datetime(2025, 6, 16, 10, 1, tzinfo=KST)  # one row per 60 s run
    assert max_age() == timedelta(seconds=180)
    _set_period(600)
    assert slot_for(moment) == datetime(2025, 6, 16, 10, 0, tzinfo=KST)
    assert max_age() == timedelta(seconds=720)
    PeriodicTask.objects.filter(name="update-market-gate").update(enabled=False)
    forget()
    assert gate_period_seconds() == 300  # no enabled schedule: the setting stands in


def test_the_chart_history_keeps_only_the_latest_loop_of_a_simulated_day():
    start = datetime(2025, 6, 16, 9, 0, tzinfo=KST)
    computed = datetime(2025, 6, 16, 14, 0, tzinfo=KST)
    rows = []
    for _loop in range(2):  # the demo replays the same session date
        for step in range(3):
            computed += timedelta(minutes=1)
            rows.append(make_gate(50 + step, "YELLOW", as_of=start + timedelta(hours=2 * step),
                                  computed_at=computed, trading_date=start.date()))
    history = gate_history(rows[-1])
    assert [p["level"] for p in history] == [50, 51, 52]
    assert len(history) == 3


def test_a_json_body_that_is_not_an_object_says_what_it_got_once():
    factory = RequestFactory()
    with pytest.raises(ValueError) as raised:
        json_body(factory.post("/api/scan", data="[1]", content_type="application/json"))
    assert str(raised.value) == "got a JSON array"
    message = f"the body is not a JSON object: {raised.value}"  # as signals/api.py words it
    assert message.count("JSON object") == 1


def test_scan_statuses_follow_the_operators_language():
    from django.utils import translation

    from signals.models import ScanStatus

    with translation.override("en"):
        assert [str(s.label) for s in ScanStatus] == ["Queued", "Running", "Succeeded", "Failed"]
    with translation.override("ko"):
        assert str(ScanStatus.FAILED.label) == "실패"
