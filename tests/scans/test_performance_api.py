"""GET /api/performance: the numbers behind the dashboard's performance panel."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.performance_fixtures import performance_market

pytestmark = pytest.mark.django_db


def test_open_closed_by_grade_and_a_year_of_daily_gates(client):
    today = performance_market()
    data = client.get("/api/performance").json()

    open_rows = {r["ticker"]: r for r in data["open"]}
    assert set(open_rows) == {"200001", "200002"}
    assert (open_rows["200001"]["price"], open_rows["200001"]["live_r"]) == (52_400, 0.8)  # the quote
    assert (open_rows["200002"]["price"], open_rows["200002"]["live_r"]) == (49_100, -0.3)  # the last close

    assert [r["ticker"] for r in data["closed"]] == ["200005", "200004", "200003"]  # newest exit first
    assert data["closed"][1]["gap"] is True and data["closed"][1]["r_multiple"] == -1.5
    assert data["by_grade"]["A"] == {"closed": 2, "wins": 1, "win_rate": 0.5, "avg_r": 0.75}
    assert data["by_grade"]["B"] == {"closed": 1, "wins": 0, "win_rate": 0.0, "avg_r": -1.0}
    assert data["by_grade"]["S"]["closed"] == 0  # its stop is older than the 60 sessions

    gates = data["gate_history"]
    assert len({g["date"] for g in gates}) == len(gates)  # one per day
    assert gates[0]["date"] > (today - timedelta(days=365)).isoformat() and gates[-1]["date"] == today.isoformat()
    assert {g["status"] for g in gates} == {"GREEN", "YELLOW", "RED"}


def test_an_empty_database_answers_with_empty_lists(client):
    data = client.get("/api/performance").json()
    assert (data["open"], data["closed"], data["gate_history"], data["closed_since"]) == ([], [], [], None)
    assert client.post("/api/performance").status_code == 405
