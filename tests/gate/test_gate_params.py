"""GateParams: every number of the gate, overridable by settings.GATE_PARAMS."""

from __future__ import annotations

import pytest

from marketgate.gate.formula import GateParams, compute_gate
from tests.factories import LAST_DAY, index, steady


def test_defaults_follow_the_domain_rules():
    p = GateParams()
    assert (p.threshold_green, p.threshold_yellow) == (70, 40)
    assert (p.trend_max, p.distribution_max, p.breadth_max, p.nhnl_max, p.drawdown_max) == (30, 20, 25, 10, 15)
    assert (p.ma_short, p.ma_mid, p.ma_long, p.dd_window, p.drawdown_window) == (20, 60, 120, 25, 252)


def test_an_unknown_key_is_refused_by_name():
    with pytest.raises(ValueError, match="trend_pionts"):
        GateParams.from_overrides({"trend_pionts": 3})


def test_lists_from_settings_become_tuples():
    p = GateParams.from_overrides({"distribution_points": [20, 18, 16, 12, 8, 4, 0]})
    assert p.distribution_points == (20, 18, 16, 12, 8, 4, 0)


def test_empty_overrides_are_the_defaults():
    assert GateParams.from_overrides(None) == GateParams() == GateParams.from_overrides({})


@pytest.mark.parametrize("overrides", [
    {"threshold_green": 30},
    {"ma_short": 200},
    {"dd_window": 0},
    {"weight_kospi": 0, "weight_kosdaq": 0},
    {"ad_ratio_low": float("nan")},
    {"drawdown_band_points": [15, 10]},
])
def test_inconsistent_values_are_refused(overrides):
    with pytest.raises(ValueError):
        GateParams.from_overrides(overrides)


def test_a_changed_threshold_changes_the_colour():
    closes = steady()
    closes[-1] = closes[-2] * 0.97  # level 89
    params = GateParams.from_overrides({"threshold_green": 90})
    assert compute_gate(index(closes), None, {}, as_of_date=LAST_DAY, params=params).status == "YELLOW"
