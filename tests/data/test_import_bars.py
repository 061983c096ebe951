"""manage.py import_bars: long-format daily bars from CSV into DailyBar."""

from __future__ import annotations

import gzip
import json
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from marketgate.data.bar_import import import_bars
from marketgate.models import DailyBar, Instrument

pytestmark = pytest.mark.django_db

HEADER = "ticker,date,open,high,low,close,volume\n"
GOOD = (
    "005930,2025-06-13,58000,58500,57500,58300,12000000\n"
    "005930,2025-06-16,58300,59000,58100,58800,11000000\n"
    "000660,2025-06-16,190000,193000,189000,192500,3000000\n"
)


def write(tmp_path: Path, text: str, name: str = "bars.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_bars", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_bars_from_a_long_format_file(tmp_path):
    out, _ = run(str(write(tmp_path, HEADER + GOOD)))
    assert DailyBar.objects.count() == 3
    bar = DailyBar.objects.get(instrument_id="005930", date=date(2025, 6, 16))
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (58300, 59000, 58100, 58800, 11000000)
    assert not bar.halted
    assert "3 bars inserted or changed" in out


def test_reimporting_updates_and_never_duplicates(tmp_path):
    run(str(write(tmp_path, HEADER + GOOD)))
    changed = GOOD.replace("58800,11000000", "58900,11500000")
    run(str(write(tmp_path, HEADER + changed, "again.csv")))
    assert DailyBar.objects.count() == 3
    assert DailyBar.objects.get(instrument_id="005930", date=date(2025, 6, 16)).close == 58900


def test_missing_columns_are_named_and_nothing_is_written(tmp_path):
    path = write(tmp_path, "ticker,date,open,high,low\n005930,2025-06-16,1,1,1\n")
    with pytest.raises(CommandError, match="missing column\\(s\\): close, volume"):
        run(str(path))
    assert DailyBar.objects.count() == 0
    assert Instrument.objects.count() == 0


def test_a_wrong_header_in_any_file_stops_before_writing_the_others(tmp_path):
    good = write(tmp_path, HEADER + GOOD, "good.csv")
    bad = write(tmp_path, "symbol,day,price\n005930,2025-06-16,1\n", "bad.csv")
    with pytest.raises(CommandError, match="bad.csv"):
        run(str(good), str(bad))
    assert DailyBar.objects.count() == 0


def test_bad_rows_are_reported_with_their_line_and_skipped(tmp_path):
    text = HEADER + GOOD + "005930,2025-13-40,1,1,1,1,1\n" + "000660,2025-06-13,abc,1,1,1,1\n" + "12345X7,2025-06-13,1,1,1,1,1\n"
    path = write(tmp_path, text)
    _, err = run(str(path))
    assert DailyBar.objects.count() == 3
    assert f"{path}:5: 005930 2025-13-40: bad date '2025-13-40'" in err
    assert f"{path}:6: 000660 2025-06-13: bad number in open: 'abc'" in err
    assert f"{path}:7: 12345X7 2025-06-13: bad ticker '12345X7'" in err


def test_negative_volume_is_a_bad_row(tmp_path):
    path = write(tmp_path, HEADER + "005930,2025-06-16,1,1,1,1,-5\n" + GOOD)
    report = import_bars([path], progress=False)
    assert [str(p) for p in report.problems] == [f"{path}:2: 005930 2025-06-16: negative volume"]


def test_duplicate_rows_last_wins_and_are_reported(tmp_path):
    text = HEADER + "005930,2025-06-16,58300,59000,58100,58000,1\n" + GOOD
    path = write(tmp_path, text)
    _, err = run(str(path))
    assert DailyBar.objects.get(instrument_id="005930", date=date(2025, 6, 16)).close == 58800
    assert f"{path}:2: duplicate of line 4; the last one wins" in err


def test_duplicates_across_chunks_are_found(tmp_path):
    text = HEADER + GOOD + "005930,2025-06-13,58000,58500,57500,58100,1\n"
    path = write(tmp_path, text)
    report = import_bars([path], chunksize=2, progress=False)
    assert [p.line for p in report.duplicates] == [2]
    assert DailyBar.objects.get(instrument_id="005930", date=date(2025, 6, 13)).close == 58100


def test_halted_rows_are_stored_as_halted(tmp_path):
    path = write(tmp_path, HEADER + GOOD + "005930,2025-06-17,0,0,0,58800,0\n")
    run(str(path))
    bar = DailyBar.objects.get(instrument_id="005930", date=date(2025, 6, 17))
    assert bar.halted and bar.close == 58800 and bar.volume == 0


def test_an_off_by_one_high_is_widened_not_dropped(tmp_path):
    path = write(tmp_path, HEADER + "000640,2024-04-18,109090,112587,109090,112588,5016\n")
    report = import_bars([path], progress=False)
    assert report.problems == [] and len(report.widened) == 1
    assert DailyBar.objects.get(instrument_id="000640").high == 112588


def test_an_empty_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="empty file"):
        run(str(write(tmp_path, "")))


def test_a_header_without_rows_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no data rows"):
        run(str(write(tmp_path, HEADER)))


def test_gzip_is_recognised_by_its_content_not_its_name(tmp_path):
    path = tmp_path / "bars.csv"  # no .gz
    path.write_bytes(gzip.compress((HEADER + GOOD).encode()))
    run(str(path))
    assert DailyBar.objects.count() == 3


def test_korean_headers_are_accepted(tmp_path):
    korean = "종목코드,날짜,시가,고가,저가,종가,거래량,거래대금\n005930,2025-06-16,58300,59000,58100,58800,11000000,646800000000\n"
    run(str(write(tmp_path, korean)))
    bar = DailyBar.objects.get(instrument_id="005930")
    assert bar.close == 58800 and bar.traded_value == 646800000000


def test_a_cp949_file_with_thousands_separators_is_read(tmp_path):
    korean = '티커,일자,시가,고가,저가,종가,거래량\n005930,20250616,"58,300","59,000","58,100","58,800","11,000,000"\n'
    run(str(write(tmp_path, korean, encoding="cp949")))
    assert DailyBar.objects.get(instrument_id="005930").volume == 11_000_000


def test_tickers_that_lost_their_leading_zeros_are_padded(tmp_path):
    run(str(write(tmp_path, HEADER + "5930,2025-06-16,58300,59000,58100,58800,1\n")))
    assert DailyBar.objects.get().instrument_id == "005930"


def test_unknown_tickers_become_minimal_instruments_and_are_reported(tmp_path):
    Instrument.objects.create(ticker="005930", name="삼성전자", market="KOSPI")
    _, err = run(str(write(tmp_path, HEADER + GOOD)), "--market", "KOSDAQ")
    created = Instrument.objects.get(ticker="000660")
    assert (created.name, created.market, created.active) == ("000660", "KOSDAQ", True)
    assert Instrument.objects.get(ticker="005930").name == "삼성전자"
    assert "1 unknown ticker(s) created" in err and "000660" in err


def test_an_optional_value_column_fills_traded_value(tmp_path):
    run(str(write(tmp_path, "ticker,date,open,high,low,close,volume,value\n005930,2025-06-16,1,2,1,2,10,15\n")))
    assert DailyBar.objects.get().traded_value == 15


def test_the_orm_path_gives_the_same_rows_as_copy(tmp_path):
    path = write(tmp_path, HEADER + GOOD + "005930,2025-06-17,0,0,0,58800,0\n")
    import_bars([path], progress=False, method="orm")
    orm = list(DailyBar.objects.order_by("instrument_id", "date").values_list("instrument_id", "date", "close", "halted"))
    DailyBar.objects.all().delete()
    import_bars([path], progress=False, method="copy")
    copy = list(DailyBar.objects.order_by("instrument_id", "date").values_list("instrument_id", "date", "close", "halted"))
    assert orm == copy and len(orm) == 4


def test_a_failure_part_way_leaves_nothing_of_the_file(tmp_path, monkeypatch):
    from marketgate.data import bar_import

    calls = []

    def failing(frame, **kwargs):
        calls.append(len(frame))
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return original(frame, **kwargs)

    original = bar_import.upsert_daily_bars
    monkeypatch.setattr(bar_import, "upsert_daily_bars", failing)
    with pytest.raises(RuntimeError):
        import_bars([write(tmp_path, HEADER + GOOD)], chunksize=1, progress=False)
    assert DailyBar.objects.count() == 0


def test_a_line_with_too_many_fields_is_reported_and_later_lines_keep_their_numbers(tmp_path):
    text = HEADER + "005930,2025-06-13,58000,58500,57500,58300,1,9,9\n" + "005930,2025-06-16,58300,59000,58100,58800,1\n" + "000660,2025-06-16,x,1,1,1,1\n"
    path = write(tmp_path, text)
    report = import_bars([path], progress=False)
    assert sorted(str(p) for p in report.problems) == [
        f"{path}:2: wrong number of fields",
        f"{path}:4: 000660 2025-06-16: bad number in open: 'x'",
    ]
    assert DailyBar.objects.count() == 1


HOSTILE = [
    "005930,2025-06-12,57000,58000,56900,57800,10000000",  # 2 good
    "005930,2025-06-13,58000,58500,57500,58300,12000000",  # 3 good
    "005930,2025-06-16,58300,59000,58100,9e99,11000000",  # 4 absurd magnitude
    "000660,2025-06-12,190000,193000,189000,192500,3000000",  # 5 good
    "000660,2025-06-13,NaN,193000,189000,192500,3000000",  # 6 not a number
    "000660,2025-06-16,192500,inf,191000,193500,2800000",  # 7 not finite
    "035720,2025-06-12,40000,41000,39500,40500,-900000",  # 8 negative volume
    "035720,2025-06-13,40500,40000,39500,40800,900000",  # 9 high below the close
    "035720,2025-06-16,40525,41000,40100,40800,800000",  # 10 off the tick grid (tick 50)
    "035720,2025-06-17,90000,90000,90000,90000,700000",  # 11 +120% from 40,800: beyond the limit
    "035720,2025-06-18,90000,91000,89500,90500,500000",  # 12 good
    "005930,2025-06-17,0,0,0,58800,0",  # 13 halted: kept as halted, not flagged
    "000660,2025-06-17,193500,195000,192000,194000,2500000",  # 14 good
    "000660,2025-06-18,194000,195000,-1,194500,2000000",  # 15 negative price
]


def test_a_hostile_file_is_judged_line_by_line_and_loses_no_good_row(tmp_path):
    """Survives: every good and every merely suspicious row of the file, stored as
    written; each impossible row is named (line, ticker, date, reason) and left out; the
    suspicious ones are named as flagged, in the text and in the JSON report; the limit
    breach is the same one split detection stores as a corporate action."""
    from marketgate.models import AdjustmentFactor

    path = write(tmp_path, HEADER + "\n".join(HOSTILE) + "\n")
    report_path = tmp_path / "report.json"
    out, err = run(str(path), "--json", str(report_path))

    rejected = [
        f"{path}:4: 005930 2025-06-16: close 9e+99 is beyond the sane bound 100,000,000",
        f"{path}:6: 000660 2025-06-13: bad number in open: 'NaN'",
        f"{path}:7: 000660 2025-06-16: high is not a finite number: 'inf'",
        f"{path}:8: 035720 2025-06-12: negative volume",
        f"{path}:9: 035720 2025-06-13: high 40,000 below open/close 40,800",
        f"{path}:15: 000660 2025-06-18: negative low",
    ]
    flagged = [
        f"{path}:10: 035720 2025-06-16: open 40,525 is off the tick grid (tick 50): kept",
        f"{path}:11: 035720 2025-06-17: open 90,000 / close 90,000 moved +120.6% from the previous close 40,800,"
        " beyond the ±30% daily limit: kept, read as a corporate action (÷0.453333)",
    ]
    assert [line.removeprefix("skipped: ") for line in err.splitlines() if line.startswith("skipped: ")] == rejected
    assert [line.removeprefix("flagged: ") for line in err.splitlines() if line.startswith("flagged: ")] == flagged
    assert "6 bad rows skipped" in out and "2 flagged (1 off_tick_grid, 1 beyond_price_limit)" in out and "14 rows read, 8 bars inserted or changed (1 halted)" in out

    stored = {(b.instrument_id, b.date.isoformat()): (b.open, b.high, b.low, b.close, b.volume, b.halted)
              for b in DailyBar.objects.all()}
    assert stored == {
        ("005930", "2025-06-12"): (57000, 58000, 56900, 57800, 10000000, False),
        ("005930", "2025-06-13"): (58000, 58500, 57500, 58300, 12000000, False),
        ("005930", "2025-06-17"): (0, 0, 0, 58800, 0, True),
        ("000660", "2025-06-12"): (190000, 193000, 189000, 192500, 3000000, False),
        ("000660", "2025-06-17"): (193500, 195000, 192000, 194000, 2500000, False),
        ("035720", "2025-06-16"): (40525, 41000, 40100, 40800, 800000, False),
        ("035720", "2025-06-17"): (90000, 90000, 90000, 90000, 700000, False),
        ("035720", "2025-06-18"): (90000, 91000, 89500, 90500, 500000, False),
    }
    assert AdjustmentFactor.objects.filter(ticker="035720", ex_date=date(2025, 6, 17)).exists()

    data = json.loads(report_path.read_text(encoding="utf-8"))
    assert data["counts"] == {"rejected": 6, "flagged": 2, "widened": 0, "duplicates": 0, "created": 3}
    assert [(r["line"], r["ticker"], r["date"], r["code"]) for r in data["rejected"]] == [
        (4, "005930", "2025-06-16", "too_large"), (6, "000660", "2025-06-13", "bad_number"),
        (7, "000660", "2025-06-16", "not_finite"), (8, "035720", "2025-06-12", "negative"),
        (9, "035720", "2025-06-13", "high_below_open_close"), (15, "000660", "2025-06-18", "negative"),
    ]
    assert [(r["line"], r["code"]) for r in data["flagged"]] == [(10, "off_tick_grid"), (11, "beyond_price_limit")]
    assert [f"{path}:{r['line']}: {r['ticker']} {r['date']}: {r['reason']}" for r in data["flagged"]] == flagged


def test_prices_off_the_grid_of_their_own_date_and_market_are_flagged(tmp_path):
    """Before 2023-01-25 KOSPI and KOSDAQ had their own tick tables: 150,100 was on
    KOSDAQ's grid (tick 100) but off KOSPI's (tick 500); ETFs trade in 5 won steps."""
    Instrument.objects.create(ticker="005930", name="삼성전자", market="KOSPI")
    Instrument.objects.create(ticker="247540", name="에코프로비엠", market="KOSDAQ")
    Instrument.objects.create(ticker="069500", name="KODEX 200", market="KOSPI", kind="etf")
    rows = ("005930,2022-06-16,150000,150500,149500,150100,1\n"
            "247540,2022-06-16,150000,150500,149500,150100,1\n"
            "069500,2022-06-16,43330,43400,43300,43335,1\n")
    report = import_bars([write(tmp_path, HEADER + rows)], progress=False)
    assert [(p.line, p.ticker, p.reason) for p in report.flagged] == [
        (2, "005930", "close 150,100 is off the tick grid (tick 500): kept")]
    assert DailyBar.objects.count() == 3


def test_a_small_high_low_mismatch_is_widened_but_a_large_one_is_rejected(tmp_path):
    """Real adjusted files miss by a won (kept, widened); a high 5% under the close is
    not a session (skipped)."""
    path = write(tmp_path, HEADER + "000640,2024-04-18,109090,112587,109090,112588,5016\n"
                 + "000640,2024-04-19,112000,107000,106000,112600,5016\n")
    report = import_bars([path], progress=False)
    assert [str(p) for p in report.widened] == [f"{path}:2: 000640 2024-04-18: high/low widened to contain open/close"]
    assert [str(p) for p in report.problems] == [f"{path}:3: 000640 2024-04-19: high 107,000 below open/close 112,600"]
