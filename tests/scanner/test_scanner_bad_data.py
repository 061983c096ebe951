"""Halts, short histories, NaNs and zero volume never crash a scan; they exclude, with a reason."""

from __future__ import annotations

import numpy as np
import pandas as pd

from signals.scanner.vcp import scan
from tests import scanner_fixtures as fx


def _candidates(bars: pd.DataFrame, instruments: pd.DataFrame) -> dict[str, tuple[int, int, int]]:
    result = scan(bars, instruments, as_of=fx.AS_OF)
    return {c.ticker: (c.entry_price, c.stop_loss, c.target_price) for c in result.candidates}


def _with_halts(stock: pd.DataFrame, positions: list[int]) -> pd.DataFrame:
    """The same clean bars, with KRX-style halt rows (open=high=low=0, volume=0, close carried)
    inserted at `positions`; every bar after a halt moves one session later."""
    n = len(stock) + len(positions)
    dates = fx.DATES[-n:]
    clean = [i for i in range(n) if i not in positions]
    out = stock.copy()
    out["date"] = dates[clean]
    halts = pd.DataFrame({"ticker": stock["ticker"].iloc[0], "date": dates[positions]})
    halts[["open", "high", "low", "volume"]] = 0.0
    merged = pd.concat([out, halts]).sort_values("date", ignore_index=True)
    merged["close"] = merged["close"].ffill()
    return merged


def test_halted_bars_are_dropped_not_read_as_prices() -> None:
    halted = _with_halts(fx.vcp_stock(), [150, 260, 282, 290, 300])
    bars, instruments = fx.universe(halted, weak=3, strong=0)
    assert _candidates(bars, instruments) == {"VCP001": (47_050, 45_050, 56_500)}


def test_a_halted_flag_column_drops_the_bar() -> None:
    bars, instruments = fx.universe(fx.vcp_stock(), weak=3, strong=0)
    bars["halted"] = False
    crash = bars.index[(bars["ticker"] == "VCP001")][-5]
    bars.loc[crash, ["low", "close"]] = 100.0
    bars.loc[crash, "halted"] = True
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert [c.ticker for c in result.candidates] == ["VCP001"]


def test_a_short_history_is_excluded_with_its_length() -> None:
    young = fx.frame("YOUNG1", fx.geometric(10_000, 20_000, 100))
    bars, instruments = fx.universe(young)
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert result.rejections["YOUNG1"] == "History 100 clean sessions < 260"


def test_nan_rows_are_dropped_and_the_rest_still_scans() -> None:
    bars, instruments = fx.universe(fx.vcp_stock(), weak=3, strong=0)
    rows = bars.index[bars["ticker"] == "VCP001"][[10, 100]]
    bars.loc[rows[0], "close"] = np.nan
    bars.loc[rows[1], ["high", "volume"]] = np.nan
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert result.rejections.get("VCP001") is None or not result.rejections["VCP001"].startswith("History")


def test_an_all_nan_ticker_does_not_crash() -> None:
    broken = fx.frame("NAN001", np.full(fx.SESSIONS, np.nan))
    bars, instruments = fx.universe(fx.vcp_stock(), broken, weak=3, strong=0)
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert result.rejections["NAN001"].startswith("No clean bars")
    assert [c.ticker for c in result.candidates] == ["VCP001"]


def test_zero_volume_never_crashes_and_fails_liquidity() -> None:
    idle = fx.frame("IDLE01", fx.geometric(10_000, 30_000), volumes=0.0)
    bars, instruments = fx.universe(idle)
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert result.rejections["IDLE01"].startswith("20-day avg traded value 0.0bn")


def test_a_ticker_without_a_bar_on_the_scan_date_is_excluded() -> None:
    stale = fx.frame("STALE1", fx.geometric(10_000, 30_000), dates=fx.DATES[-fx.SESSIONS - 1 : -1])
    bars, instruments = fx.universe(stale)
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert result.rejections["STALE1"] == f"No bar on {fx.AS_OF} (halted or not traded)"


def test_an_empty_frame_scans_to_nothing() -> None:
    columns = ["ticker", "date", "open", "high", "low", "close", "volume"]
    result = scan(pd.DataFrame(columns=columns), fx.instruments([]), as_of=fx.AS_OF)
    assert (result.candidates, result.universe_count, result.trend_template_count) == ([], 0, 0)


def test_repeated_bars_do_not_count_twice() -> None:
    bars, instruments = fx.universe(fx.vcp_stock(), weak=3, strong=0)
    doubled = pd.concat([bars, bars[bars["ticker"] == "VCP001"]], ignore_index=True)
    assert _candidates(doubled, instruments) == {"VCP001": (47_050, 45_050, 56_500)}


def test_unknown_and_non_common_tickers_are_excluded_by_kind() -> None:
    bars, instruments = fx.universe(fx.vcp_stock("VCP001"), fx.vcp_stock("PREF01"), fx.vcp_stock("GHOST1"))
    instruments = instruments[instruments["ticker"] != "GHOST1"].copy()
    instruments.loc[instruments["ticker"] == "PREF01", "kind"] = "preferred"
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert result.rejections["GHOST1"] == "Not in the instrument list"
    assert result.rejections["PREF01"] == "Not a common stock (preferred)"


def test_unsorted_input_scans_the_same() -> None:
    bars, instruments = fx.universe(fx.vcp_stock(), weak=3, strong=0)
    shuffled = bars.sample(frac=1.0, random_state=3)
    assert _candidates(shuffled, instruments) == {"VCP001": (47_050, 45_050, 56_500)}
