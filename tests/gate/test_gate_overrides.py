"""Correction cap and follow-through floor (domain.md, "Overrides")."""

from __future__ import annotations

from datetime import datetime

from marketgate.calendar import KST
from marketgate.gate.formula import GateParams, LiveIndex, compute_gate
from tests.factories import LAST_DAY, correction, index, strong_breadth


def run(closes, volumes, *, with_breadth=False, live=None, params=None):
    breadth = {"KOSPI": strong_breadth()} if with_breadth else {}
    return compute_gate(index(closes, volumes), None, breadth, as_of_date=LAST_DAY,
                        live={"KOSPI": live} if live else None, params=params or GateParams())


def rally(closes, volumes, days):
    """Append (change %, volume) sessions."""
    closes, volumes = list(closes), list(volumes)
    for pct, volume in days:
        closes.append(closes[-1] * (1 + pct / 100))
        volumes.append(volume)
    return closes, volumes


QUIET_RALLY = [(0.3, 900.0), (0.3, 900.0), (0.3, 900.0)]  # days 1-3 of a rally attempt


def test_below_ma120_with_six_distribution_days_caps_the_level_at_39():
    result = run(*correction(), with_breadth=True)  # strong breadth alone would give ~50
    assert result.correction and not result.follow_through
    assert result.level == 39 and result.status == "RED"
    assert "capped at 39" in result.override_reason


def test_the_override_is_reported_in_the_components_json():
    rows = run(*correction(), with_breadth=True).to_components_json()
    override = [r for r in rows if r["name"] == "override"]
    assert len(override) == 1 and override[0]["points"] == 0 and override[0]["max"] == 0
    assert "correction" in override[0]["reason"] and "조정장" in override[0]["reason_ko"]


def test_many_distribution_days_above_ma120_are_not_a_correction():
    closes, volumes = correction()
    # The same selling, but after a rise that keeps the index above its MA120.
    closes = [c * (1.5 if i >= 200 else 1.0) for i, c in enumerate(closes)]
    result = run(closes, volumes)
    assert not result.correction and result.override_reason == ""


def test_follow_through_day_lifts_the_floor_to_40():
    closes, volumes = rally(*correction(), QUIET_RALLY + [(1.5, 3000.0)])  # day 4: +1.5% on volume
    result = run(closes, volumes)
    assert result.correction and result.follow_through
    assert result.level == 40 and result.status == "YELLOW"
    assert f"follow-through day {LAST_DAY.isoformat()}" in result.override_reason


def test_follow_through_before_day_four_does_not_count():
    closes, volumes = rally(*correction(), QUIET_RALLY[:2] + [(1.5, 3000.0)])  # day 3
    result = run(closes, volumes)
    assert result.correction and not result.follow_through and result.level < 40


def test_follow_through_needs_higher_volume():
    closes, volumes = rally(*correction(), QUIET_RALLY + [(1.5, 800.0)])
    assert not run(closes, volumes).follow_through


def test_follow_through_needs_a_gain_of_one_and_a_quarter_percent():
    closes, volumes = rally(*correction(), QUIET_RALLY + [(1.2, 3000.0)])
    assert not run(closes, volumes).follow_through


def test_undercutting_the_low_cancels_the_follow_through():
    closes, volumes = rally(*correction(), QUIET_RALLY + [(1.5, 3000.0), (-6.0, 3500.0)])
    result = run(closes, volumes)
    assert result.correction and not result.follow_through and result.level <= 39


def test_intraday_follow_through_uses_prorated_volume_and_is_provisional():
    closes, volumes = rally(*correction(), QUIET_RALLY)
    live = LiveIndex(closes[-1] * 1.015, 600.0, datetime(2025, 6, 16, 12, 15, tzinfo=KST), 0.5)  # 600 > 900 x 0.5
    history = index(closes, volumes, end=LAST_DAY.replace(day=13))
    result = compute_gate(history, None, {}, as_of_date=LAST_DAY, live={"KOSPI": live})
    assert result.follow_through and result.level == 40
    assert result.provisional and "(provisional)" in result.override_reason


def test_cap_and_floor_come_from_params():
    params = GateParams.from_overrides({"correction_cap": 30})
    assert run(*correction(), with_breadth=True, params=params).level == 30
