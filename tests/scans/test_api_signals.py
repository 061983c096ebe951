"""GET /api/signals and GET /api/market-gate."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db

DAY, EARLIER = date(2026, 2, 3), date(2026, 2, 2)


@pytest.fixture
def signals() -> None:
    factories.signal("005930", DAY, grade="S", score=90)
    factories.signal("000660", DAY, name="SK하이닉스", grade="A", score=80)
    factories.signal("247540", DAY, name="에코프로비엠", market="KOSDAQ", grade="B", score=70)
    factories.signal("035720", EARLIER, name="카카오", grade="C", score=60)


def _get(query: str = ""):  # type: ignore[no-untyped-def]
    return Client().get(f"/api/signals{query}")


def test_without_a_date_the_latest_days_signals_come_best_first(signals):
    data = _get().json()
    assert data["signal_date"] == "2026-02-03" and data["count"] == 3
    assert [s["ticker"] for s in data["signals"]] == ["005930", "000660", "247540"]


def test_each_signal_has_the_wire_shape_plus_its_footprint(signals):
    first = _get().json()["signals"][0]
    assert {"ticker", "name", "grade", "score", "entry_price", "reasons", "signal_date", "created_at", "footprint"} <= set(first)
    assert first["name"] == "삼성전자"


def test_filters_by_date_grade_and_market(signals):
    assert [s["ticker"] for s in _get("?date=2026-02-02").json()["signals"]] == ["035720"]
    assert [s["ticker"] for s in _get("?grade=S,a").json()["signals"]] == ["005930", "000660"]
    assert [s["ticker"] for s in _get("?market=kosdaq").json()["signals"]] == ["247540"]


def test_a_day_without_signals_is_an_empty_list():
    assert _get("?date=2026-01-01").json() == {"signal_date": "2026-01-01", "count": 0, "signals": []}
    assert _get().json() == {"signal_date": None, "count": 0, "signals": []}


@pytest.mark.parametrize("query", ["?date=03-02-2026", "?grade=Z", "?market=NASDAQ"])
def test_bad_filters_are_400_json(query):
    response = _get(query)
    assert response.status_code == 400 and response.json()["error"] == "bad_request"


def test_the_market_gate_endpoint_has_the_websocket_shape():
    older = factories.gate(status="RED", level=30)
    latest = factories.gate(status="GREEN", level=75, as_of=older.as_of + timedelta(minutes=5),
                            computed_at=older.computed_at + timedelta(minutes=5))
    response = Client().get("/api/market-gate")
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "market_gate_update" and body["topic"] == "market-gate"
    assert body["data"]["status"] == "GREEN" and body["data"]["level"] == 75
    assert set(body["data"]) == set(latest.to_data())
    # The old monitoring's field: the computation time, with its offset (same as `timestamp`).
    assert body["data"]["updated_at"] == body["timestamp"] and body["data"]["updated_at"].endswith("+09:00")


def test_the_market_gate_endpoint_is_404_before_the_first_gate():
    response = Client().get("/api/market-gate")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
