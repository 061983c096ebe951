"""What the level may claim: the correction cap on the combined level, and no GREEN
resting on too little history. Pure, on synthetic and real KRX index data."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from marketgate.gate.formula import compute_gate
from marketgate.gate.params import GateParams
from marketgate.gate.replay import gate_series, index_history_from_frame, load_krx_calibration
from tests.factories import LAST_DAY, correction, index, steady

# The rules before these limits, to show what each one changes.
NO_GREEN_GUARD = {"green_requires": [], "green_min_known_share": 0}


@pytest.fixture(scope="module")
def calibration():
    from tests.conftest import KRX_DATA

    if not KRX_DATA.is_dir():
        pytest.skip("real KRX data not found")
    return load_krx_calibration(KRX_DATA)


def test_a_correction_on_one_index_caps_the_combined_level():
    closes, volumes = correction()
    kospi = index(closes, volumes, name="KOSPI")
    kosdaq = index(steady(len(closes)), name="KOSDAQ")
    result = compute_gate(kospi, kosdaq, {}, as_of_date=LAST_DAY)
    assert result.index("KOSPI").correction and result.index("KOSDAQ").level == 100
    assert result.level == 39 and result.status == "RED"
    assert "level capped at 39" in result.override_reason


def test_real_2023_09_07_kospi_in_correction_and_a_strong_kosdaq_is_red(calibration):
    kospi, kosdaq, breadth = calibration
    row = gate_series(kospi, kosdaq, breadth, dates=[date(2023, 9, 7)], hysteresis=False).iloc[0]
    # KOSPI 33.8 in correction, KOSDAQ 100: averaged after a per-index cap it was 67 YELLOW.
    assert row["kospi_level"] == 33.8 and row["kosdaq_level"] == 100.0
    assert round((row["kospi_level"] + row["kosdaq_level"]) / 2) == 67
    assert row["level"] == 39 and row["status"] == "RED" and row["correction"]


def test_a_follow_through_floor_still_lifts_its_index():
    closes, volumes = correction()
    closes += [closes[-1] * 1.003 ** i for i in range(1, 4)] + [closes[-1] * 1.003 ** 3 * 1.02]
    volumes += [1000.0] * 3 + [5000.0]
    result = compute_gate(index(closes, volumes), None, {}, as_of_date=LAST_DAY)
    assert result.follow_through and result.level >= 40


def _crash(sessions: int = 100) -> list[float]:
    return [100.0 * 0.99 ** i for i in range(sessions)]


def test_100_falling_sessions_on_falling_volume_are_not_green():
    # The case: every component but distribution is unknown below 120 sessions,
    # and distribution alone reads 20/20.
    closes = _crash()
    volumes = [10_000.0 - 50 * i for i in range(len(closes))]
    before = compute_gate(index(closes, volumes), None, {}, as_of_date=LAST_DAY,
                          params=GateParams.from_overrides(NO_GREEN_GUARD))
    assert before.level == 100 and before.status == "GREEN"
    result = compute_gate(index(closes, volumes), None, {}, as_of_date=LAST_DAY)
    assert result.level == 69 and result.status == "YELLOW"
    assert "GREEN needs KOSPI trend, KOSPI drawdown known" in result.override_reason
    cap = [c for c in result.to_components_json() if c["name"] == "override"]
    assert cap and "69" in cap[0]["reason"] and "69" in cap[0]["reason_ko"]


def test_real_kospi_2008_09_30_with_100_sessions_is_yellow_not_green(calibration):
    kospi = calibration[0].assign(date=lambda f: pd.to_datetime(f["date"]).dt.date)
    tail = kospi[kospi["date"] <= date(2008, 9, 30)].tail(100)
    assert tail["close"].iloc[-1] / tail["close"].iloc[0] == pytest.approx(0.7836, abs=1e-4)  # -22%
    history = index_history_from_frame(tail, "KOSPI")
    before = compute_gate(history, None, {}, as_of_date=date(2008, 9, 30),
                          params=GateParams.from_overrides(NO_GREEN_GUARD))
    after = compute_gate(history, None, {}, as_of_date=date(2008, 9, 30))
    assert (before.level, before.status) == (75, "GREEN")
    assert (after.level, after.status) == (69, "YELLOW")


def test_hysteresis_cannot_hold_green_the_data_cannot_back():
    from marketgate.gate.inputs import PreviousGate

    closes = _crash()
    volumes = [10_000.0 - 50 * i for i in range(len(closes))]
    result = compute_gate(index(closes, volumes), None, {}, as_of_date=LAST_DAY, previous=PreviousGate("GREEN", 90))
    assert result.status == "YELLOW"


def test_a_stated_share_of_known_points_is_enough_without_a_required_component():
    closes = _crash()
    volumes = [10_000.0 - 50 * i for i in range(len(closes))]
    params = GateParams.from_overrides({"green_requires": [], "green_min_known_share": 0.5})
    result = compute_gate(index(closes, volumes), None, {}, as_of_date=LAST_DAY, params=params)
    assert result.status == "YELLOW" and "only 20% of the points known" in result.override_reason


@pytest.mark.parametrize("bad", [{"green_requires": ["trend", "nope"]}, {"green_requires": "trend"},
                                 {"green_min_known_share": 1.5}])
def test_bad_green_settings_are_refused(bad):
    with pytest.raises(ValueError, match="green_"):
        GateParams.from_overrides(bad)
