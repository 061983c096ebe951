"""The scanner on the real 2025-06-16 market (skipped without ../shared/data/krx)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from marketgate.data.bar_rows import read_bar_file
from marketgate.data.market_files import parse_listing
from marketgate.tick_size import is_on_tick
from signals.scanner.vcp import scan

pytestmark = pytest.mark.realdata


def test_the_real_day_scans_with_every_price_on_the_grid(krx_data: Path) -> None:
    as_of = date(2025, 6, 16)
    bars = read_bar_file(krx_data / "stocks_daily_2023-12_2025-06.csv.gz", end=as_of, sessions=320)
    result = scan(bars, parse_listing(krx_data / "listing.csv")[0], as_of=as_of)
    assert result.stats["scan_date"] == "2025-06-16"
    assert 300 < result.universe_count < 600
    assert 0 < result.trend_template_count < result.universe_count
    for c in result.candidates:
        assert all(is_on_tick(p) for p in (c.entry_price, c.stop_loss, c.target_price))
