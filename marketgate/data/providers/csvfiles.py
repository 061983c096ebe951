"""The CSV provider: daily data from files in a directory (settings.MARKET_DATA_CSV_DIR).

For markets you have files for and no API: the same formats `manage.py import_*`
accepts, found by name in the directory:

  listing.csv                          ticker,name,market[,name_en,security_group,share_kind,listed_shares]
  bars/*.csv[.gz], stocks_daily*.csv*  ticker,date,open,high,low,close,volume[,value]
  kospi_index*.csv, kosdaq_index*.csv  date,close[,open,high,low,volume,value] (files merged by date)
  kospi_breadth*.csv, ..._new_highs_lows*.csv   (optional; else breadth is derived)

Bad rows are skipped (the import commands report them with their lines). There is
nothing live: live_index is None and live_quotes is empty.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from marketgate.data.bar_rows import read_bar_file
from marketgate.data.market_files import parse_breadth, parse_index, parse_listing
from marketgate.data.providers.base import (
    BAR_COLUMNS,
    BREADTH_COLUMNS,
    INDEX_COLUMNS,
    LISTING_COLUMNS,
    IndexName,
    LiveIndexQuote,
    LiveQuote,
    ProviderError,
    SectorQuote,
    empty_frame,
)

log = logging.getLogger(__name__)


def _default_directory() -> Path:
    from django.conf import settings

    configured = getattr(settings, "MARKET_DATA_CSV_DIR", None)
    return Path(configured) if configured else Path(settings.BASE_DIR) / "var" / "csv"


class CsvProvider:
    name = "csv"
    is_demo = False

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory else _default_directory()

    def _files(self, *patterns: str) -> list[Path]:
        found = {path for pattern in patterns for path in self.directory.glob(pattern) if path.is_file()}
        return sorted(found)

    def listing(self) -> pd.DataFrame:
        path = self.directory / "listing.csv"
        if not path.is_file():
            raise ProviderError(f"no listing: {path} not found")
        frame, report = parse_listing(path)
        if report.problems:
            log.warning("%s: %d bad rows skipped", path, len(report.problems))
        for column, default in (("name_en", ""), ("listed_shares", pd.NA)):
            if column not in frame:
                frame[column] = default
        return frame[LISTING_COLUMNS]

    def daily_bars(self, tickers: list[str] | None, start: date, end: date) -> pd.DataFrame:
        files = self._files("bars/*.csv", "bars/*.csv.gz", "stocks_daily*.csv", "stocks_daily*.csv.gz")
        frames = [read_bar_file(path, start=start, end=end, tickers=tickers) for path in files]
        frames = [frame for frame in frames if len(frame)]
        if not frames:
            return empty_frame(BAR_COLUMNS)
        bars = pd.concat(frames, ignore_index=True).drop_duplicates(["ticker", "date"], keep="last")
        bars["date"] = bars["date"].dt.date
        return bars.sort_values(["ticker", "date"])[BAR_COLUMNS].reset_index(drop=True)

    def index_bars(self, index: IndexName, start: date, end: date) -> pd.DataFrame:
        prefix = index.lower()
        merged: pd.DataFrame | None = None
        for path in self._files(f"{prefix}_index*.csv", f"{prefix}_index*.csv.gz", f"{prefix}_close_volume*.csv"):
            frame = parse_index(path)[0].set_index("date")
            merged = frame if merged is None else frame.combine_first(merged)
        if merged is None:
            return empty_frame(INDEX_COLUMNS)
        merged = merged.reset_index()
        for column in INDEX_COLUMNS:
            if column not in merged:
                merged[column] = pd.NA
        keep = (merged["date"] >= start) & (merged["date"] <= end)
        return merged.loc[keep, INDEX_COLUMNS].sort_values("date").reset_index(drop=True)

    def breadth(self, market: str, start: date, end: date) -> pd.DataFrame | None:
        prefix = market.lower()
        files = self._files(f"{prefix}_breadth*.csv", f"{prefix}_new_highs_lows*.csv")
        if not files:
            return None
        frame = parse_breadth(list(files))[0]
        for column in BREADTH_COLUMNS:
            if column not in frame:
                frame[column] = pd.NA
        keep = (frame["date"] >= start) & (frame["date"] <= end)
        return frame.loc[keep, BREADTH_COLUMNS].reset_index(drop=True)

    def live_index(self, index: IndexName, now: datetime) -> LiveIndexQuote | None:
        return None

    def live_quotes(self, tickers: list[str], now: datetime) -> dict[str, LiveQuote]:
        return {}

    def sectors(self, now: datetime) -> list[SectorQuote] | None:
        return None
