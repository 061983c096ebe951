"""A session's panel cut from the whole-range build equals build_panel of the bars a
`scan --date` of that session reads: halts, late listings, delistings, short windows."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from signals.backtest.day_panels import PanelHistory
from signals.scanner.panel import build_panel

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


def test_walk_forward_reads_each_session_through_its_own_adjustment():
    """A scan of day D reads history adjusted for ex-dates up to D only: the backtest's
    signals per session equal scan() of adjust(window, D)."""
    from signals.backtest.walk_forward import GateDay, walk_forward
    from signals.scanner.params import ScanParams
    from signals.scanner.vcp import scan
    from tests import scanner_fixtures as fx

    bars, instruments = fx.universe(fx.vcp_stock("VCP001"), weak=3, strong=0)
    dates = sorted(bars["date"].dt.date.unique())
    sessions, ex_date = dates[-4:], dates[-2]

    def adjust(frame: pd.DataFrame, day: date) -> pd.DataFrame:
        if day < ex_date:
            return frame
        out = frame.copy()
        before = (out["ticker"] == "VCP001") & (out["date"].dt.date < ex_date)
        out.loc[before, ["open", "high", "low", "close"]] /= 2  # a 2-for-1 split on ex_date
        out.loc[before, "volume"] *= 2
        return out

    params = ScanParams()
    run = walk_forward(bars, instruments, sessions, lambda d: GateDay("GREEN"), params=params, adjust=adjust,
                       ex_dates=[ex_date])
    found = 0
    for day in sessions:
        part, _ = window(bars, day, 320)
        expected = scan(adjust(part, day), instruments, as_of=day, params=params)
        got = run.signals_on(day)
        assert [(t.ticker, t.score, t.entry, t.stop, t.target) for t in got] == [
            (c.ticker, c.score, c.entry_price, c.stop_loss, c.target_price) for c in expected.candidates], day
        found += len(got)
    assert found >= 1
