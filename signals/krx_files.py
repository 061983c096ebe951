"""Read the KRX daily-bar CSV and listing CSV into the frames `scan()` takes.

Files: a bars CSV (optionally gzipped) with ticker,date,open,high,low,close,volume — halt
days appear as open=high=low=0, volume=0 — and a listing CSV with
ticker,name,name_en,market,security_group,share_kind,listed_on,listed_shares.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

BAR_DTYPES = {
    "ticker": str,
    "open": float,
    "high": float,
    "low": float,
    "close": float,
    "volume": float,
}
MARKET_MAP = {"KOSPI": "KOSPI", "KOSDAQ": "KOSDAQ", "KOSDAQ GLOBAL": "KOSDAQ"}
COMMON_SHARE = "보통주"
SHARES_GROUP = "주권"
# security_group values that are not operating companies' shares.
GROUP_KINDS = {
    "부동산투자회사": "reit",
    "사회간접자본투융자회사": "fund",
    "투자회사": "fund",
    "주식예탁증권": "other",  # depositary receipts
    "외국주권": "other",
}


def instrument_kind(name: str, security_group: str, share_kind: str) -> str:
    """common / preferred / spac / reit / fund / other, from the listing's own columns."""
    upper = name.upper()
    if "SPAC" in upper or "스팩" in name:
        return "spac"
    if security_group != SHARES_GROUP:
        return GROUP_KINDS.get(security_group, "other")
    if share_kind == COMMON_SHARE:
        return "common"
    if "우선주" in share_kind:
        return "preferred"
    return "other"


def read_listing(path: str | Path) -> pd.DataFrame:
    """ticker, name, market (KOSPI/KOSDAQ), kind; KONEX and unknown markets are left out."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    market = raw["market"].str.strip().map(MARKET_MAP)
    kinds = [
        instrument_kind(n, g, k)
        for n, g, k in zip(raw["name"], raw["security_group"].str.strip(), raw["share_kind"].str.strip())
    ]
    frame = pd.DataFrame(
        {"ticker": raw["ticker"].str.strip(), "name": raw["name"], "market": market, "kind": kinds}
    )
    return frame.loc[frame["market"].notna()].reset_index(drop=True)


def read_bars(path: str | Path, *, as_of: date | None = None, sessions: int | None = 320) -> pd.DataFrame:
    """Daily bars up to and including `as_of`, only the last `sessions` distinct dates.

    Rows are kept as they are in the file (halt rows included): dropping them is the
    scanner's job, and an importer needs to see them.
    """
    bars = pd.read_csv(path, dtype=BAR_DTYPES, parse_dates=["date"])
    if as_of is not None:
        bars = bars.loc[bars["date"] <= pd.Timestamp(as_of)]
    if sessions is not None:
        days = np.unique(bars["date"].to_numpy())
        if len(days) > sessions:
            bars = bars.loc[bars["date"] >= days[-sessions]]
    return bars.reset_index(drop=True)
