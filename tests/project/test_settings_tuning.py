"""Tuning values: one JSON setting, typed like their defaults, unknown names refused."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stockgate.env import Tuning
from tests.processes import REPO, with_tuning


def test_an_override_takes_the_type_of_its_default() -> None:
    tuned = Tuning(json.dumps({"A": "7", "B": 2, "C": "false", "D": "x,y", "E": {"k": 1}}))
    assert tuned("A", 1) == 7
    assert tuned("B", 0.5) == 2.0 and isinstance(tuned("B", 0.5), float)
    assert tuned("C", True) is False
    assert tuned("D", ["z"]) == ["x", "y"]
    assert tuned("E", {}) == {"k": 1}
    assert tuned("F", 3) == 3  # not overridden: the default
    tuned.check_names()


@pytest.mark.parametrize("raw, message", [
    ("[1, 2]", "must be a JSON object"),
    ("{not json", "must be a JSON object"),
])
def test_a_malformed_setting_is_refused(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Tuning(raw)


def test_a_value_of_the_wrong_kind_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="WS_HISTORY_FRAMES must be like 500"):
        Tuning('{"WS_HISTORY_FRAMES": "many"}')("WS_HISTORY_FRAMES", 500)


def test_an_unknown_name_stops_the_start_naming_it() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "stockgate.settings",
             "STOCKGATE_TUNING": '{"WS_HISTORY_FRAME": 1000}'},
    )
    assert done.returncode != 0
    assert "unknown name(s) WS_HISTORY_FRAME" in done.stderr and "WS_HISTORY_FRAMES" in done.stderr


def test_child_processes_get_tuning_values_through_the_one_setting() -> None:
    env = with_tuning({"STOCKGATE_TUNING": '{"DEMO_TICKERS": 20}'}, {"GATE_PERIOD_SECONDS": "5", "PRICE_FEED": "demo"})
    assert env["PRICE_FEED"] == "demo" and "GATE_PERIOD_SECONDS" not in env
    assert json.loads(env["STOCKGATE_TUNING"]) == {"DEMO_TICKERS": 20, "GATE_PERIOD_SECONDS": "5"}
