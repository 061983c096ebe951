"""System checks for WebSocket settings that must agree, and the page following them:
the heartbeat, idle timeout and rate limits reach the page in its initial state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from stockgate.checks import check_realtime
from stockgate.dashboard import FIXED_TOPICS, initial_state

REPO = Path(__file__).resolve().parents[2]


def ids() -> set[str]:
    return {issue.id for issue in check_realtime()}


def test_the_defaults_agree(settings) -> None:
    settings.WS_HEARTBEAT_SECONDS, settings.WS_IDLE_TIMEOUT_SECONDS = 25.0, 60.0
    settings.WS_MAX_FRAMES_PER_SECOND, settings.WS_MAX_SUBSCRIPTIONS = 20, 200
    assert ids() == set()


@pytest.mark.parametrize(("heartbeat", "idle", "expected"), [
    (70.0, 60.0, "stockgate.E011"),  # every socket closed as idle before the next ping
    (60.0, 60.0, "stockgate.E011"),
    (0.0, 60.0, "stockgate.E010"),
    (-1.0, 60.0, "stockgate.E010"),
    (57.0, 60.0, "stockgate.W012"),  # too little room for the pong
])
def test_heartbeat_must_come_before_the_idle_timeout(settings, heartbeat, idle, expected) -> None:
    settings.WS_HEARTBEAT_SECONDS, settings.WS_IDLE_TIMEOUT_SECONDS = heartbeat, idle
    assert ids() == {expected}


def test_a_long_heartbeat_with_a_matching_idle_timeout_passes(settings) -> None:
    settings.WS_HEARTBEAT_SECONDS, settings.WS_IDLE_TIMEOUT_SECONDS = 70.0, 90.0
    assert ids() == set()


def test_rate_and_subscription_limits_the_page_needs(settings) -> None:
    settings.WS_MAX_FRAMES_PER_SECOND = 1
    settings.WS_MAX_SUBSCRIPTIONS = len(FIXED_TOPICS) - 1
    assert ids() == {"stockgate.E013", "stockgate.E014"}
    settings.WS_MAX_FRAMES_PER_SECOND = 2
    settings.WS_MAX_SUBSCRIPTIONS = len(FIXED_TOPICS)
    assert ids() == set()


def test_manage_py_check_refuses_a_heartbeat_longer_than_the_idle_timeout() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "stockgate.settings", "WS_HEARTBEAT_SECONDS": "70",
           "WS_IDLE_TIMEOUT_SECONDS": "60"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "stockgate.E011" in result.stderr and "WS_IDLE_TIMEOUT_SECONDS (60.0)" in result.stderr
    env["WS_IDLE_TIMEOUT_SECONDS"] = "90"
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_the_page_receives_the_servers_socket_settings(settings) -> None:
    from django.utils import timezone

    settings.WS_HEARTBEAT_SECONDS, settings.WS_IDLE_TIMEOUT_SECONDS = 70.0, 90.0
    settings.WS_MAX_FRAMES_PER_SECOND, settings.WS_MAX_SUBSCRIPTIONS = 7, 50
    assert initial_state(timezone.now())["realtime"] == {
        "heartbeat_seconds": 70.0, "idle_timeout_seconds": 90.0, "max_frames_per_second": 7, "max_subscriptions": 50,
    }
    page = Client().get("/").content.decode()
    assert '"heartbeat_seconds": 70.0' in page and '"max_frames_per_second": 7' in page


def test_the_page_script_hard_codes_none_of_them() -> None:
    script = "\n".join(p.read_text() for p in (REPO / "static" / "stockgate").rglob("*.js"))
    for value in ("65000", "65_000", "WS_HEARTBEAT", "14 / 1000"):
        assert value not in script, value
