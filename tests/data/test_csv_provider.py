"""The CSV provider: daily data from a directory of files."""

from __future__ import annotations

import gzip
from datetime import date, datetime
from pathlib import Path

import pytest

from marketgate.calendar import KST
from marketgate.data.providers.base import (
    BAR_COLUMNS,
    BREADTH_COLUMNS,
    INDEX_COLUMNS,
    LISTING_COLUMNS,
    ProviderError,
)
from marketgate.data.providers.csvfiles import CsvProvider

EVER = (date(2000, 1, 1), date(2100, 1, 1))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "listing.csv").write_text(
        "ticker,name,market,share_kind\n005930,삼성전자,KOSPI,보통주\n005935,삼성전자우,KOSPI,구형우선주\n", encoding="utf-8"
    )
    (tmp_path / "bars").mkdir()
    (tmp_path / "bars" / "a.csv.gz").write_bytes(gzip.compress(
        b"ticker,date,open,high,low,close,volume\n005930,2025-06-13,58000,58500,57500,58300,12000000\n"
        b"005930,2025-06-16,58300,59000,58100,58800,11000000\n005935,2025-06-16,0,0,0,48350,0\n"
    ))
    (tmp_path / "kospi_index.csv").write_text("date,open,high,low,close\n2025-06-16,2913.11,2951.98,2909.85,2946.66\n")
    (tmp_path / "kospi_close_volume.csv").write_text(
        "date,close,volume_thousand_shares,value_million_krw\n2025-06-16,2946.66,585012.3,11830120.3\n"
    )
    (tmp_path / "kospi_breadth.csv").write_text("date,advances,declines,unchanged\n2025-06-16,600,300,60\n")
    return tmp_path


def test_listing_is_read_with_kinds(folder):
    listing = CsvProvider(folder).listing()
    assert list(listing.columns) == LISTING_COLUMNS
    assert dict(zip(listing["ticker"], listing["kind"], strict=True)) == {"005930": "common", "005935": "preferred"}


def test_a_missing_listing_is_a_clear_error(tmp_path):
    with pytest.raises(ProviderError, match="listing.csv not found"):
        CsvProvider(tmp_path).listing()


def test_bars_are_read_filtered_and_keep_halted_rows(folder):
    bars = CsvProvider(folder).daily_bars(None, date(2025, 6, 16), date(2025, 6, 16))
    assert list(bars.columns) == BAR_COLUMNS
    assert bars["ticker"].tolist() == ["005930", "005935"]
    assert bars.loc[bars["ticker"] == "005935", "open"].item() == 0
    assert CsvProvider(folder).daily_bars(["005930"], *EVER)["date"].tolist() == [date(2025, 6, 13), date(2025, 6, 16)]


def test_index_files_are_merged_by_date(folder):
    bars = CsvProvider(folder).index_bars("KOSPI", *EVER)
    assert list(bars.columns) == INDEX_COLUMNS
    row = bars.iloc[0]
    assert row["open"] == 2913.11 and row["volume"] == pytest.approx(585_012_300)


def test_no_index_file_means_no_bars(folder):
    assert CsvProvider(folder).index_bars("KOSDAQ", *EVER).empty


def test_breadth_comes_from_files_or_is_none(folder):
    breadth = CsvProvider(folder).breadth("KOSPI", *EVER)
    assert list(breadth.columns) == BREADTH_COLUMNS and breadth["advances"].tolist() == [600]
    assert CsvProvider(folder).breadth("KOSDAQ", *EVER) is None


def test_nothing_is_live(folder):
    now = datetime(2025, 6, 17, 11, 0, tzinfo=KST)
    provider = CsvProvider(folder)
    assert provider.live_index("KOSPI", now) is None and provider.live_quotes(["005930"], now) == {}
    assert provider.sectors(now) is None and not provider.is_demo
