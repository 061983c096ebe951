"""The pure parts of the inbound bounds: nesting depth, the replay budget, the fault log."""

from __future__ import annotations

import json
import logging

import pytest

from stockgate.realtime import faultlog, frames, inbound
from stockgate.realtime.limits import ReplayBudget


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ("[" * 60000, True),
        ('{"a":' * 9 + "1" + "}" * 9, True),
        ("[" * 8 + "]" * 8, False),
        ('{"type":"subscribe","topic":"market-gate","since":{"epoch":"e","seq":1}}', False),
        # Brackets inside strings are text, not nesting.
        (json.dumps({"type": "ping", "note": "[" * 500 + "{" * 500}), False),
        (json.dumps({"x": "\\\"[[[[[[[[[[[[["}), False),
    ],
)
def test_nesting_depth_is_judged_without_parsing(text: str, deep: bool) -> None:
    assert inbound.too_deep(text) is deep
    parsed = inbound.parse_frame(text)
    if deep:
        assert isinstance(parsed, inbound.Refusal) and parsed.code == "bad_json"


def test_since_needs_a_plain_epoch_and_a_bounded_seq() -> None:
    assert frames.parse_since({"epoch": "1767225600-1a2b3c4d", "seq": 3}) == {"epoch": "1767225600-1a2b3c4d", "seq": 3}
    for bad in ("\ud800", "", "a" * 65, "e\n", "에포크"):
        assert frames.parse_since({"epoch": bad, "seq": 1}) == "invalid"
    assert frames.parse_since({"epoch": "e", "seq": 2**53 + 1}) == "invalid"
    assert frames.parse_since({"epoch": "e", "seq": True}) == "invalid"


def test_the_replay_budget_refills_evenly_over_a_minute() -> None:
    budget = ReplayBudget(1000)
    assert budget.available(0.0) == 1000
    budget.spend(1000)
    assert budget.available(0.0) == 0
    assert budget.available(6.0) == 100
    assert budget.available(600.0) == 1000  # never above the capacity


def test_a_failing_place_logs_one_traceback_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="stockgate.realtime.consumer")
    logged = []
    for second in (0.0, 1.0, 2.0, 59.0, 61.0):
        try:
            raise RuntimeError("down")
        except RuntimeError:
            logged.append(faultlog.failed("a test place", now=1e6 + second))
    assert logged == [True, False, False, False, True]
    assert len(caplog.records) == 2 and "3 more like it" in caplog.records[1].getMessage()
