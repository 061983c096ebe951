"""Which tickers a scan judges: KOSPI + KOSDAQ common stocks with enough clean history,
a bar on the scan date, enough liquidity and a price above the floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from signals.scanner.panel import Panel
from signals.scanner.params import ScanParams

MARKETS = ("KOSPI", "KOSDAQ")
COMMON = "common"


@dataclass(frozen=True)
class Universe:
    columns: np.ndarray  # panel column indexes in the universe
    # Columns RS is ranked against besides the universe: names that traded on the scan
    # date with the universe's history, liquidity and price but are not in the
    # instrument list (delisted since): leaving them out would rank a past date
    # against today's survivors. They are never signalled.
    peers: np.ndarray
    names: np.ndarray  # (T,) aligned with panel.tickers ("" when unknown)
    markets: np.ndarray  # (T,)
    rejections: dict[str, str]


def normalise_instruments(instruments: pd.DataFrame) -> pd.DataFrame:
    """ticker-indexed frame with name, market, kind (one row per ticker)."""
    frame = instruments.loc[:, ["ticker", "name", "market", "kind"]].copy()
    frame["ticker"] = frame["ticker"].astype(str)
    for column in ("name", "market", "kind"):
        frame[column] = frame[column].fillna("").astype(str)
    return frame.drop_duplicates("ticker", keep="last").set_index("ticker")


def instrument_problem(market: str, kind: str) -> str | None:
    if market not in MARKETS:
        return f"Market {market or 'unknown'} not scanned"
    if kind != COMMON:
        return f"Not a common stock ({kind or 'unknown'})"
    return None


def select_universe(panel: Panel, instruments: pd.DataFrame, params: ScanParams, scan_date: np.datetime64) -> Universe:
    info = instruments.reindex(pd.Index(panel.tickers, dtype=object))
    known = info["market"].notna().to_numpy()
    names = info["name"].fillna("").to_numpy(dtype=object)
    markets = info["market"].fillna("").to_numpy(dtype=object)
    kinds = info["kind"].fillna("").to_numpy(dtype=object)

    window = params.traded_value_window
    with np.errstate(invalid="ignore"):
        avg_value = panel.traded_value[-window:].mean(axis=0)
    price = panel.close[-1]
    needed = params.required_sessions

    # Each check in order; a ticker is rejected for the first it fails.
    checks = [
        ("unknown", ~known),
        ("market", ~np.isin(markets, MARKETS)),
        ("kind", kinds != COMMON),
        ("history", panel.sessions < needed),
        ("stale", panel.last_date != scan_date),
        ("liquidity", ~(avg_value >= params.min_avg_traded_value)),
        ("price", ~(price >= params.min_price)),
    ]
    failed = np.full(len(panel.tickers), -1)
    for k, (_, mask) in enumerate(checks):
        failed = np.where((failed < 0) & mask, k, failed)

    day = str(scan_date)
    rejections: dict[str, str] = {}
    for i in np.flatnonzero(failed >= 0):
        check = checks[failed[i]][0]
        if check == "unknown":
            text = "Not in the instrument list"
        elif check in ("market", "kind"):
            text = instrument_problem(markets[i], kinds[i]) or ""
        elif check == "history":
            text = f"History {panel.sessions[i]} clean sessions < {needed}"
        elif check == "stale":
            text = f"No bar on {day} (halted or not traded)"
        elif check == "liquidity":
            text = (
                f"{window}-day avg traded value {avg_value[i] / 1e9:.1f}bn"
                f" < {params.min_avg_traded_value / 1e9:.1f}bn KRW"
            )
        else:
            text = f"Price {price[i]:,.0f} < {params.min_price:,.0f}"
        rejections[str(panel.tickers[i])] = text
    unknown_only = (failed == 0) & ~np.any(np.column_stack([mask for _, mask in checks[3:]]), axis=1)
    return Universe(columns=np.flatnonzero(failed < 0), peers=np.flatnonzero(unknown_only), names=names,
                    markets=markets, rejections=rejections)
