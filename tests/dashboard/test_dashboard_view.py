"""The page at `/`: initial state in json_script, demo banner, languages, chart fallback."""

from __future__ import annotations

import json

import pytest

from tests.dashboard_support import make_gate, make_signals

pytestmark = pytest.mark.django_db


def state_of(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="dashboard-state" type="application/json">') + len(
        '<script id="dashboard-state" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


def test_initial_state_carries_the_latest_gate_history_and_signals(client):
    make_gate(41, "YELLOW")
    make_gate(72, "GREEN")
    make_signals(3)
    state = state_of(client.get("/"))
    assert state["gate"]["type"] == "market_gate_update"
    assert state["gate"]["data"]["level"] == 72
    assert [p["level"] for p in state["gate_history"]] == [41, 72]
    assert state["signals"]["data"]["count"] == 3
    assert state["ws_path"] == "/ws"
    assert state["gate_max_age_seconds"] > 0


def test_empty_database_renders_without_state(client):
    state = state_of(client.get("/"))
    assert state["gate"] is None
    assert state["signals"]["data"]["signals"] == []


def test_demo_provider_shows_the_banner(client, settings):
    settings.MARKET_DATA_PROVIDER = "demo"
    assert b"demo-banner" in client.get("/").content
    settings.MARKET_DATA_PROVIDER = "fdr"
    response = client.get("/")
    assert b"demo-banner" not in response.content
    assert state_of(response)["demo"] is False


def test_korean_by_default_and_english_by_choice(client):
    assert "마켓 게이트" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Market Gate" in html
    assert '"status_RED": "No new buys"' in html


def test_chart_module_is_omitted_when_the_library_is_not_vendored(client, monkeypatch):
    from stockgate import dashboard

    monkeypatch.setattr(dashboard.finders, "find", lambda path: None)
    assert state_of(client.get("/"))["chart_module"] is None
