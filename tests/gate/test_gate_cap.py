"""The Market Gate caps signals: YELLOW at most B and half size, RED watch only."""

from __future__ import annotations

import dataclasses

from signals.scanner.gate_filter import apply_gate_cap
from signals.scanner.results import SignalCandidate


def _candidate(grade: str = "S", size: int = 425) -> SignalCandidate:
    return SignalCandidate(
        ticker="005930",
        name="삼성전자",
        market="KOSPI",
        score=91,
        grade=grade,
        entry_price=47_050,
        target_price=56_500,
        stop_loss=45_050,
        position_size=size,
        reasons=["Trend Template 8/8"],
        footprint={},  # type: ignore[typeddict-item]
    )


def test_green_leaves_signals_alone() -> None:
    c = _candidate()
    assert apply_gate_cap([c], "GREEN") == [c]


def test_yellow_caps_the_grade_at_b() -> None:
    grades = [c.grade for c in apply_gate_cap([_candidate(g) for g in "SABC"], "YELLOW")]
    assert grades == ["B", "B", "B", "C"]


def test_yellow_halves_the_size() -> None:
    assert apply_gate_cap([_candidate(size=425)], "YELLOW")[0].position_size == 212


def test_yellow_says_so() -> None:
    assert apply_gate_cap([_candidate()], "YELLOW")[0].reasons[-1] == "Gate YELLOW: capped at B, half size"


def test_red_makes_signals_watch_only() -> None:
    capped = apply_gate_cap([_candidate()], "RED")[0]
    assert (capped.position_size, capped.reasons[-1]) == (0, "Gate RED: watch only")


def test_an_unknown_gate_is_treated_as_yellow_and_says_so() -> None:
    capped = apply_gate_cap([_candidate()], None)[0]
    assert (capped.grade, capped.position_size) == ("B", 212)
    assert capped.reasons[-1] == "Gate unknown: treated as YELLOW, capped at B, half size"


def test_capping_does_not_change_the_original() -> None:
    c = _candidate()
    before = dataclasses.asdict(c)
    apply_gate_cap([c], "RED")
    assert dataclasses.asdict(c) == before
