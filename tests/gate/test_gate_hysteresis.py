"""Hysteresis: the colour changes when the level is 3+ points past a threshold or has
stayed across it for two computations in a row."""

from __future__ import annotations

from marketgate.gate.formula import GateParams, PreviousGate, apply_hysteresis, compute_gate
from tests.factories import LAST_DAY, index, steady


def status(level, previous):
    return apply_hysteresis(level, previous)[0]


def test_without_a_previous_gate_the_colour_is_the_levels():
    assert apply_hysteresis(72, None) == ("GREEN", None, 0, "")


def test_crossing_into_green_by_less_than_three_points_is_held_and_pending():
    held, pending, count, reason = apply_hysteresis(72, PreviousGate("YELLOW", 66))
    assert (held, pending, count) == ("YELLOW", "GREEN", 1)
    assert "held" in reason


def test_staying_across_for_a_second_computation_changes_the_colour():
    assert apply_hysteresis(70, PreviousGate("YELLOW", 72, "GREEN", 1))[:3] == ("GREEN", None, 0)


def test_crossing_by_three_points_changes_the_colour_at_once():
    assert status(73, PreviousGate("YELLOW", 60)) == "GREEN"
    assert status(37, PreviousGate("YELLOW", 45)) == "RED"
    assert status(67, PreviousGate("GREEN", 80)) == "YELLOW"


def test_dipping_just_below_a_threshold_holds_the_colour():
    assert status(68, PreviousGate("GREEN", 75)) == "GREEN"
    assert status(38, PreviousGate("YELLOW", 45)) == "YELLOW"


def test_returning_to_the_previous_colour_clears_the_pending_change():
    assert apply_hysteresis(65, PreviousGate("YELLOW", 71, "GREEN", 1))[:3] == ("YELLOW", None, 0)


def test_a_different_pending_colour_starts_counting_again():
    assert apply_hysteresis(38, PreviousGate("YELLOW", 71, "GREEN", 1))[:3] == ("YELLOW", "RED", 1)


def test_a_fall_from_green_that_only_just_reaches_red_stops_at_yellow_first():
    assert apply_hysteresis(38, PreviousGate("GREEN", 80))[:3] == ("YELLOW", "RED", 1)


def test_points_and_consecutive_count_come_from_params():
    params = GateParams.from_overrides({"hysteresis_points": 1, "hysteresis_consecutive": 3})
    assert apply_hysteresis(71, PreviousGate("YELLOW", 60), params)[0] == "GREEN"
    assert apply_hysteresis(70, PreviousGate("YELLOW", 60, "GREEN", 1), params)[:3] == ("YELLOW", "GREEN", 2)


def test_hysteresis_changes_the_colour_never_the_level():
    result = compute_gate(index(steady()), None, {}, as_of_date=LAST_DAY, previous=PreviousGate("RED", 10))
    assert result.level == 100 and result.raw_status == "GREEN" and result.status == "GREEN"
    closes = steady()
    closes[-1] = closes[-2] * 0.97  # trend 23/30 -> level 89: GREEN, but previous was RED 38
    held = compute_gate(index(closes), None, {}, as_of_date=LAST_DAY, previous=PreviousGate("RED", 38))
    assert held.level == 89 and held.status == "GREEN"


def test_the_result_feeds_the_next_computations_previous():
    first = compute_gate(index(steady()), None, {}, as_of_date=LAST_DAY, previous=PreviousGate("YELLOW", 60))
    assert first.as_previous() == PreviousGate("GREEN", 100, None, 0)


def test_a_stored_status_and_level_alone_carry_the_pending_change():
    # The last row said YELLOW at level 71: GREEN was pending once.
    assert apply_hysteresis(71, PreviousGate("YELLOW", 71))[0] == "GREEN"
