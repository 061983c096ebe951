"""docs/backtest.md's whole-market tables are what `manage.py backtest` prints on the shared
data: import the files through the project's commands into a fresh database, rerun, and
compare with the block in the doc. Marker `realdata` (skipped without ../shared/data/krx);
a few minutes."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.realdata, pytest.mark.django_db, pytest.mark.timeout(1800)]

DOC = Path(__file__).resolve().parents[1] / "docs" / "backtest.md"


def test_the_docs_whole_market_tables_match_a_rerun(krx_data, tmp_path):
    quiet = io.StringIO()
    call_command("import_listing", str(krx_data / "listing.csv"), stdout=quiet, stderr=quiet)
    call_command("import_bars", str(krx_data / "stocks_daily_2023-12_2025-06.csv.gz"), "--no-progress", stdout=quiet,
                 stderr=quiet)
    for name, index in (("kospi_index_1980-2020.csv", "KOSPI"), ("kospi_index_2023-2026.csv", "KOSPI"),
                        ("kospi_close_volume_2022-2026.csv", "KOSPI"), ("kosdaq_index_2023-2026.csv", "KOSDAQ")):
        call_command("import_index", str(krx_data / name), "--index", index, stdout=quiet, stderr=quiet)
    for market in ("kospi", "kosdaq"):
        call_command("import_breadth", str(krx_data / f"{market}_breadth.csv"), "--market", market.upper(),
                     "--highs-lows", str(krx_data / f"{market}_new_highs_lows.csv"), stdout=quiet, stderr=quiet)

    out = io.StringIO()
    call_command("backtest", "--from", "2024-12-01", "--to", "2025-06-16", "--charts", str(tmp_path),
                 "--name", "whole-market", "--no-progress", stdout=out, stderr=io.StringIO())
    block = re.search(r"<!-- backtest:whole-market -->\n(.*?)\n<!-- /backtest:whole-market -->", DOC.read_text(),
                      re.S)
    assert block is not None
    assert out.getvalue().strip() == block.group(1).strip()
    for chart in ("whole-market-equity.png", "whole-market-r.png"):
        assert (tmp_path / chart).stat().st_size > 10_000
