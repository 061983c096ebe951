"""A session's panel cut from the whole-range build equals build_panel of the bars a
`scan --date` of that session reads: halts, late listings, delistings, short windows."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from signals.panel import build_panel
from signals.panel_history import PanelHistory

ROWS = 30


def messy_market(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2025-01-01", periods=80)
    frames = []
    for t in range(12):
        closes = np.round(10_000 * np.exp(np.cumsum(rng.normal(0, 0.02, len(dates)))))
        frame = pd.DataFrame({"ticker": f"{t:06d}", "date": dates, "open": closes * 0.99, "high": closes * 1.02,
                              "low": closes * 0.97, "close": closes, "volume": rng.integers(1_000, 9_000, len(dates)),
                              "traded_value": np.where(rng.random(len(dates)) < 0.2, np.nan, closes * 1000),
                              "halted": False})
        halts = rng.random(len(dates)) < 0.15 * (t % 3)  # some never halt, some often
        frame.loc[halts, ["open", "high", "low", "volume"]] = 0
        frame.loc[halts, "halted"] = True
        if t == 4:
            frame = frame.iloc[50:]  # listed late
        if t == 5:
            frame = frame.iloc[:40]  # delisted
        if t == 6:
            frame.loc[frame.index[10], "close"] = np.nan  # a broken bar
        frames.append(frame)
    bars = pd.concat(frames, ignore_index=True)
    return bars.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # no order promised


def window(bars: pd.DataFrame, day: date, sessions: int) -> tuple[pd.DataFrame, date]:
    dates = np.unique(bars["date"].to_numpy(dtype="datetime64[D]"))
    i = int(np.searchsorted(dates, np.datetime64(day, "D")))
    start = dates[max(0, i - sessions + 1)].item()
    days = bars["date"].to_numpy(dtype="datetime64[D]")
    return bars.loc[(days >= np.datetime64(start)) & (days <= np.datetime64(day))], start


@pytest.mark.parametrize("sessions", [ROWS + 5, ROWS, 12])
def test_every_session_panel_equals_build_panel_of_its_window(sessions):
    bars = messy_market()
    history = PanelHistory(bars, ROWS)
    checked = 0
    for day in pd.bdate_range("2025-01-01", periods=80)[::7].date:
        part, start = window(bars, day, sessions)
        expected = build_panel(part, as_of=day, rows=ROWS)
        got = history.at(day, start)
        assert list(got.tickers) == list(expected.tickers), day
        assert np.array_equal(got.dates, expected.dates)
        for name in ("high", "low", "close", "volume", "traded_value"):
            assert np.array_equal(getattr(got, name), getattr(expected, name), equal_nan=True), (day, name)
        assert np.array_equal(got.date_index, expected.date_index)
        assert np.array_equal(got.sessions, expected.sessions)
        assert np.array_equal(got.last_date, expected.last_date)
        checked += 1
    assert checked >= 10
