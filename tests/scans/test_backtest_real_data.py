"""docs/backtest.md's tables are what `manage.py backtest` prints on the shared data: import
the files through the project's commands into a fresh database (import_bars detects and
stores the corporate actions the backtest adjusts with), rerun, and compare with the block
in the doc. Marker `realdata` (skipped without ../shared/data/krx); a few minutes each."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from marketgate.models import AdjustmentFactor

pytestmark = [pytest.mark.realdata, pytest.mark.django_db, pytest.mark.timeout(1800)]

DOC = Path(__file__).resolve().parents[2] / "docs" / "backtest.md"
TOP100 = "kospi_top100_daily_2021-04_2026-03_unadjusted.csv.gz"
# The doc's 2024 sub-range of the five-year file (its 086280 and 278470 splits inside): a
# fifth of the five-year run's time; the doc says the five-year block is checked by hand.
TOP100_FROM, TOP100_TO = "2024-01-01", "2024-12-31"


def import_market(krx_data: Path, bars_file: str) -> None:
    quiet = io.StringIO()
    call_command("import_listing", str(krx_data / "listing.csv"), stdout=quiet, stderr=quiet)
    call_command("import_bars", str(krx_data / bars_file), "--no-progress", stdout=quiet, stderr=quiet)
    for name, index in (("kospi_index_1980-2020.csv", "KOSPI"), ("kospi_index_2023-2026.csv", "KOSPI"),
                        ("kospi_close_volume_2022-2026.csv", "KOSPI"), ("kosdaq_index_2023-2026.csv", "KOSDAQ")):
        call_command("import_index", str(krx_data / name), "--index", index, stdout=quiet, stderr=quiet)
    for market in ("kospi", "kosdaq"):
        call_command("import_breadth", str(krx_data / f"{market}_breadth.csv"), "--market", market.upper(),
                     "--highs-lows", str(krx_data / f"{market}_new_highs_lows.csv"), stdout=quiet, stderr=quiet)


def assert_doc_block_is_a_rerun(name: str, start: str, end: str, charts: Path) -> None:
    out = io.StringIO()
    call_command("backtest", "--from", start, "--to", end, "--charts", str(charts), "--name", name, "--no-progress",
                 stdout=out, stderr=io.StringIO())
    block = re.search(rf"<!-- backtest:{name} -->\n(.*?)\n<!-- /backtest:{name} -->", DOC.read_text(), re.S)
    assert block is not None, f"docs/backtest.md has no {name} block"
    assert out.getvalue().strip() == block.group(1).strip()
    for chart in (f"{name}-equity.png", f"{name}-r.png"):
        assert (charts / chart).stat().st_size > 10_000


def test_the_docs_whole_market_tables_match_a_rerun(krx_data, tmp_path):
    import_market(krx_data, "stocks_daily_2023-12_2025-06.csv.gz")
    assert_doc_block_is_a_rerun("whole-market", "2024-12-01", "2025-06-16", tmp_path)


def test_the_docs_top100_2024_tables_match_a_rerun(krx_data, tmp_path):
    """The unadjusted five-year file: its splits are found on import and adjusted per session."""
    import_market(krx_data, TOP100)
    assert AdjustmentFactor.objects.filter(ticker="086280", ex_date=date(2024, 7, 12), factor=2.0).exists()
    assert_doc_block_is_a_rerun("top100-2024", TOP100_FROM, TOP100_TO, tmp_path)
