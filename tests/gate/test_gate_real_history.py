"""The gate on real KRX history: RED in the 2008 and 2020 crashes, GREEN in the
recoveries (docs/market-gate.md has the table and the reasons).

Needs ../shared/data/krx beside the repository (or KRX_DATA_DIR); skipped without it.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketgate.gate.formula import BreadthHistory, IndexHistory, compute_gate

pytestmark = pytest.mark.realdata

DATA = Path(os.environ.get("KRX_DATA_DIR") or Path(__file__).resolve().parents[3] / "shared" / "data" / "krx")

PINNED = [
    (date(2008, 10, 24), 938.75, "RED"),     # the 2008 crash low: correction, -54% from the high
    (date(2009, 7, 31), 1557.29, "GREEN"),   # recovery: above every MA, near the 252-session high
    (date(2020, 3, 19), 1457.64, "RED"),     # the March 2020 crash low: 10 distribution days
    (date(2020, 4, 17), 1914.53, "YELLOW"),  # rebound: above MA20 only, no distribution
    (date(2020, 8, 31), 2326.17, "GREEN"),   # recovered: MAs stacked, 4.6% off the high
    (date(2024, 8, 5), 2441.55, "RED"),      # the August 2024 sell-off (-8.8%): correction
    (date(2025, 4, 8), 2334.23, "RED"),      # the April 2025 tariff shock: below all MAs, NL >> NH
    (date(2025, 6, 16), 2946.66, "GREEN"),   # new 252-session high, A/D EMA 0.56, NH >> NL
]


def _frame(name: str, columns: list[str]) -> pd.DataFrame:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"real KRX data not found at {DATA} (set KRX_DATA_DIR to run these)")
    return pd.read_csv(path, usecols=columns, parse_dates=["date"])


def _values(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(dtype=float)


@pytest.fixture(scope="module")
def inputs():
    old = _frame("kospi_index_1980-2020.csv", ["date", "close", "volume"])
    recent = _frame("kospi_close_volume_2022-2026.csv", ["date", "close", "volume_thousand_shares"])
    recent = recent.rename(columns={"volume_thousand_shares": "volume"})
    kospi = pd.concat([old, recent]).sort_values("date").drop_duplicates("date", keep="last")
    kosdaq = _frame("kosdaq_index_2023-2026.csv", ["date", "close"])
    histories = {
        "KOSPI": IndexHistory("KOSPI", tuple(kospi["date"].dt.date), _values(kospi, "close"), _values(kospi, "volume")),
        "KOSDAQ": IndexHistory("KOSDAQ", tuple(kosdaq["date"].dt.date), _values(kosdaq, "close")),
    }
    breadth = {}
    for market in ("kospi", "kosdaq"):
        ad = _frame(f"{market}_breadth.csv", ["date", "advances", "declines"])
        ad = ad[ad["advances"] + ad["declines"] > 0]  # holiday placeholders
        nhnl = _frame(f"{market}_new_highs_lows.csv", ["date", "new_highs", "new_lows"])
        both = ad.merge(nhnl, on="date", how="outer").sort_values("date")
        breadth[market.upper()] = BreadthHistory(
            tuple(both["date"].dt.date), advances=_values(both, "advances"), declines=_values(both, "declines"),
            new_highs=_values(both, "new_highs"), new_lows=_values(both, "new_lows"),
        )
    return histories, breadth


@pytest.mark.parametrize(("day", "close", "colour"), PINNED, ids=[d.isoformat() for d, _, _ in PINNED])
def test_gate_colour_on_real_history(inputs, day, close, colour):
    histories, breadth = inputs
    result = compute_gate(histories["KOSPI"], histories["KOSDAQ"], breadth, as_of_date=day)
    assert result.index("KOSPI").close == pytest.approx(close)
    assert result.status == colour, [c["reason"] for c in result.components]


def test_crash_lows_are_corrections(inputs):
    histories, breadth = inputs
    for day in (date(2008, 10, 24), date(2020, 3, 19)):
        result = compute_gate(histories["KOSPI"], None, breadth, as_of_date=day)
        assert result.correction and result.level == 0


def test_kosdaq_without_volume_has_no_distribution_count(inputs):
    histories, breadth = inputs
    result = compute_gate(None, histories["KOSDAQ"], breadth, as_of_date=date(2025, 6, 16))
    distribution = next(c for c in result.components if c["name"] == "distribution")
    assert distribution["known"] is False
