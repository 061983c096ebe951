"""Scanner thresholds: domain defaults, overridable from settings, unknown keys refused."""

from __future__ import annotations

import pytest

from signals.scanner.params import ScanParams


def test_defaults_are_the_domain_rules() -> None:
    p = ScanParams()
    assert (p.min_sessions, p.min_avg_traded_value, p.min_price) == (260, 5e9, 1_000)
    assert (p.rs_min, p.rs_relaxed_min, p.last_t_max_depth, p.volume_dry_up_max) == (70, 80, 0.10, 0.8)
    assert (p.equity, p.risk_fraction, p.max_position_fraction) == (100_000_000, 0.01, 0.20)


def test_overrides_replace_defaults() -> None:
    p = ScanParams.from_overrides({"rs_min": 75, "min_avg_traded_value": 1e9})
    assert (p.rs_min, p.min_avg_traded_value) == (75, 1e9)


def test_unknown_keys_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="rs_minimum, typo_key"):
        ScanParams.from_overrides({"rs_minimum": 75, "typo_key": 1, "rs_min": 70})


def test_rs_weights_accept_lists_from_settings() -> None:
    p = ScanParams.from_overrides({"rs_weights": [[63, 0.5], [252, 0.5]]})
    assert p.rs_weights == ((63, 0.5), (252, 0.5))
