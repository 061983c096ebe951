"""manage.py import_index and import_breadth: the shared index and breadth files."""

from __future__ import annotations

from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from marketgate.models import BreadthDay, IndexBar

pytestmark = pytest.mark.django_db


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_index_ohlc_file_is_imported(tmp_path):
    path = write(tmp_path, "kospi.csv", "date,open,high,low,close\n2025-06-13,2900.1,2920.5,2890.0,2894.62\n2025-06-16,2900,2950,2899,2946.66\n")
    run("import_index", str(path), "--index", "KOSPI")
    bar = IndexBar.objects.get(index="KOSPI", date=date(2025, 6, 16))
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (2900, 2950, 2899, 2946.66, None)


def test_close_volume_file_completes_an_ohlc_file_without_erasing_it(tmp_path):
    ohlc = write(tmp_path, "ohlc.csv", "date,open,high,low,close\n2025-06-16,2900,2950,2899,2946.66\n")
    volume = write(tmp_path, "vol.csv", "date,close,volume_thousand_shares,value_million_krw\n2025-06-16,2946.66,411424.0,7008117.0\n")
    run("import_index", str(ohlc), "--index", "KOSPI")
    run("import_index", str(volume), "--index", "KOSPI")
    bar = IndexBar.objects.get()
    assert bar.open == 2900 and bar.volume == 411_424_000 and bar.traded_value == 7_008_117_000_000


def test_index_rows_with_empty_open_are_kept_without_it(tmp_path):
    path = write(tmp_path, "old.csv", "date,open,high,low,close,volume,value,mktcap,change_pct\n1980-01-04,,,,100.00,95900,602800000,,\n")
    run("import_index", str(path), "--index", "KOSPI")
    bar = IndexBar.objects.get()
    assert bar.open is None and bar.close == 100 and bar.volume == 95900


def test_index_bad_rows_are_reported(tmp_path):
    path = write(tmp_path, "bad.csv", "date,close\n2025-06-16,2946.66\nyesterday,1\n2025-06-17,\n")
    _, err = run("import_index", str(path), "--index", "KOSDAQ")
    assert IndexBar.objects.count() == 1
    assert f"{path}:3: bad date 'yesterday'" in err
    assert f"{path}:4: bad number in close: ''" in err


def test_index_file_without_close_is_refused(tmp_path):
    with pytest.raises(CommandError, match="missing column\\(s\\): close"):
        run("import_index", str(write(tmp_path, "x.csv", "date,open\n2025-06-16,1\n")), "--index", "KOSPI")


def test_breadth_with_highs_and_lows_is_merged_by_date(tmp_path):
    breadth = write(tmp_path, "b.csv", "date,advances,declines,unchanged,ad_diff,ad_line\n2025-01-02,455,427,79,28,50028.0\n2025-01-03,691,206,64,485,50513.0\n")
    highs = write(tmp_path, "h.csv", "date,new_highs,new_lows,nhnl\n2025-01-03,9,66,-57\n")
    run("import_breadth", str(breadth), "--market", "KOSPI", "--highs-lows", str(highs))
    day = BreadthDay.objects.get(market="KOSPI", date=date(2025, 1, 3))
    assert (day.advances, day.declines, day.unchanged, day.new_highs, day.new_lows, day.derived) == (691, 206, 64, 9, 66, False)
    assert BreadthDay.objects.get(date=date(2025, 1, 2)).new_highs is None


def test_breadth_holiday_placeholders_are_dropped(tmp_path):
    path = write(tmp_path, "b.csv", "date,advances,declines,unchanged\n2025-01-01,0,0,0\n2025-01-02,455,427,79\n")
    out, _ = run("import_breadth", str(path), "--market", "KOSDAQ")
    assert list(BreadthDay.objects.values_list("date", flat=True)) == [date(2025, 1, 2)]
    assert "1 holiday placeholders dropped" in out


def test_highs_lows_alone_do_not_erase_advances(tmp_path):
    run("import_breadth", str(write(tmp_path, "b.csv", "date,advances,declines,unchanged\n2025-01-02,455,427,79\n")), "--market", "KOSPI")
    run("import_breadth", str(write(tmp_path, "h.csv", "date,new_highs,new_lows\n2025-01-02,9,66\n")), "--market", "KOSPI")
    day = BreadthDay.objects.get()
    assert day.advances == 455 and day.new_highs == 9


def test_the_shared_index_and_breadth_files_import(krx_data):
    run("import_index", str(krx_data / "kospi_index_2023-2026.csv"), "--index", "KOSPI")
    run("import_index", str(krx_data / "kospi_close_volume_2022-2026.csv"), "--index", "KOSPI")
    run("import_breadth", str(krx_data / "kosdaq_breadth.csv"), "--market", "KOSDAQ", "--highs-lows", str(krx_data / "kosdaq_new_highs_lows.csv"))
    assert IndexBar.objects.get(index="KOSPI", date=date(2025, 6, 16)).volume > 0
    assert BreadthDay.objects.filter(market="KOSDAQ", new_highs__isnull=False).count() > 300
