"""The bulk bar write path on real PostgreSQL: the binary COPY stores exactly what the
frame says (NULL traded values, halts, dates); a first big load into an empty table,
written without its secondary indexes, ends with the same rows (the last of duplicate
lines wins) and every index and constraint back; a failure part-way leaves nothing and
the indexes intact; a batch whose tickers already have bars in its dates upserts."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from django.db import connection

from marketgate.data import bulk, market_upserts
from marketgate.data.bar_import import import_bars
from marketgate.data.binary_copy import BAR_FIELDS, binary_copy_rows
from marketgate.models import DailyBar

pytestmark = pytest.mark.django_db

HEADER = "ticker,date,open,high,low,close,volume,traded_value\n"


def indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [DailyBar._meta.db_table])
        return {r[0] for r in cursor.fetchall()}


def stored() -> list[tuple]:
    return list(DailyBar.objects.order_by("instrument_id", "date").values_list(
        "instrument_id", "date", "open", "high", "low", "close", "volume", "traded_value", "halted"))


def test_binary_copy_stores_exactly_the_frame():
    frame = pd.DataFrame({
        "ticker": ["005930", "005930", "00088K"], "date": pd.to_datetime(["1999-12-31", "2025-06-16", "2025-06-16"]),
        "open": [0.0, 58300.5, 1.0], "high": [0.0, 59000.0, 2.0], "low": [0.0, 58100.0, 1.0],
        "close": [57000.0, 58800.0, 2.0], "volume": [0, 12_345_678_901, 5],
        "traded_value": pd.array([None, 987_654_321_012, 7], dtype="Int64"), "halted": [True, False, False],
    })
    assert binary_copy_rows(frame[["ticker", *BAR_FIELDS]]) is not None
    market_upserts.ensure_instruments(frame["ticker"])
    assert bulk.upsert_daily_bars(frame) == 3
    assert stored() == [
        ("00088K", date(2025, 6, 16), 1.0, 2.0, 1.0, 2.0, 5, 7, False),
        ("005930", date(1999, 12, 31), 0.0, 0.0, 0.0, 57000.0, 0, None, True),
        ("005930", date(2025, 6, 16), 58300.5, 59000.0, 58100.0, 58800.0, 12_345_678_901, 987_654_321_012, False),
    ]


def test_rows_that_do_not_fit_the_binary_layout_go_as_csv():
    frame = pd.DataFrame({"ticker": ["005930", "A1"], "date": pd.to_datetime(["2025-06-16"] * 2), "open": [1.0] * 2,
                          "high": [1.0] * 2, "low": [1.0] * 2, "close": [1.0] * 2, "volume": [1, 2],
                          "traded_value": [None, None], "halted": [False, False]})
    assert binary_copy_rows(frame[["ticker", *BAR_FIELDS]]) is None  # tickers of two lengths
    market_upserts.ensure_instruments(frame["ticker"])
    assert bulk.upsert_daily_bars(frame) == 2 and len(stored()) == 2


def _file(tmp_path, lines: list[str]):
    path = tmp_path / "bars.csv"
    path.write_text(HEADER + "".join(lines))
    return path


def test_a_first_big_load_builds_its_indexes_at_the_end_and_the_last_duplicate_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 2)  # these few rows count as big
    before = indexes()
    lines = [f"0000{n}0,2025-06-{d:02d},100,110,90,105,{1000 + d},\n" for n in range(1, 4) for d in (12, 13, 16)]
    lines.append("000010,2025-06-13,200,210,190,205,7,70\n")  # a later chunk repeats a key: it wins
    report = import_bars([_file(tmp_path, lines)], chunksize=4, progress=False)
    assert indexes() == before
    rows = stored()
    assert len(rows) == 9 and report.rows_read == 10
    assert ("000010", date(2025, 6, 13), 200.0, 210.0, 190.0, 205.0, 7, 70, False) in rows
    # The unique constraint is back: an upsert of a stored key updates it in place.
    again = import_bars([_file(tmp_path, ["000020,2025-06-16,1,1,1,1,1,1\n"])], progress=False)
    assert again.rows_written == 1 and DailyBar.objects.count() == 9


def test_a_failed_big_load_leaves_nothing_and_keeps_the_indexes(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 2)
    before = indexes()
    lines = [f"0000{n}0,2025-06-{d:02d},100,110,90,105,1000,\n" for n in range(1, 4) for d in (12, 13, 16)]
    calls = []
    original = bulk.BulkLoad.finish

    def failing(self):
        calls.append(1)
        raise RuntimeError("database went away")

    monkeypatch.setattr(bulk.BulkLoad, "finish", failing)
    with pytest.raises(RuntimeError):
        import_bars([_file(tmp_path, lines)], chunksize=4, progress=False)
    monkeypatch.setattr(bulk.BulkLoad, "finish", original)
    assert calls and DailyBar.objects.count() == 0 and indexes() == before


def test_a_table_with_bars_keeps_its_indexes_and_upserts(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 2)
    import_bars([_file(tmp_path, ["000010,2025-06-12,1,1,1,1,1,\n"])], progress=False)
    load = bulk.BulkLoad()
    lines = [f"000010,2025-06-{d:02d},100,110,90,105,1000,\n" for d in (12, 13, 16)]
    report = import_bars([_file(tmp_path, lines)], progress=False)
    assert not load.unindexed and report.rows_written == 3
    assert DailyBar.objects.get(instrument_id="000010", date=date(2025, 6, 12)).close == 105.0


def test_splits_are_found_from_the_rows_just_written_and_across_a_stored_boundary(tmp_path, monkeypatch):
    """Corporate-action detection after a first big load reads no bar back (the rows it
    wrote are all the table has); a later file whose first session halves the stored
    close is judged against that stored close. Both must find the split, store its
    factor and flag the line."""
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 2)
    first = [f"000010,2025-06-{d:02d},10000,10100,9900,10000,1000,\n" for d in (10, 11, 12)]
    first.append("000010,2025-06-13,5000,5050,4950,5000,2000,\n")  # 2:1 split inside the first file
    first += [f"000020,2025-06-{d:02d},20000,20100,19900,20000,1000,\n" for d in (10, 11, 12, 13)]
    report = import_bars([_file(tmp_path, first)], chunksize=3, progress=False)
    assert [(r.ticker, r.ex_date, r.factor) for r in report.adjustments.itertuples()] == [
        ("000010", date(2025, 6, 13), 2.0)]
    assert [(p.line, p.code) for p in report.flagged] == [(5, "beyond_price_limit")]

    later = ["000020,2025-06-16,4000,4050,3950,4000,3000,\n"]  # 5:1 against the stored 20,000 close
    report = import_bars([_file(tmp_path, later)], progress=False)
    assert [(r.ticker, r.ex_date, r.factor) for r in report.adjustments.itertuples()] == [
        ("000020", date(2025, 6, 16), 5.0)]
    assert [(p.line, p.code) for p in report.flagged] == [(2, "beyond_price_limit")]


def test_a_background_copy_that_fails_names_its_own_error_and_leaves_nothing(tmp_path, monkeypatch):
    """A first load's chunks are COPYed while the next one is prepared: when one of them
    fails, the import raises the COPY's own error (not the aborted transaction the next
    statement meets), nothing of the file stays and the indexes are back."""
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 2)
    before = indexes()
    original = bulk.binary_copy_rows
    chunks = []

    def second_chunk_corrupt(rows):
        chunks.append(1)
        data = original(rows)
        return data if len(chunks) == 1 else b"not a COPY stream" + data

    monkeypatch.setattr(bulk, "binary_copy_rows", second_chunk_corrupt)
    lines = [f"0000{n}0,2025-06-{d:02d},100,110,90,105,1000,\n" for n in range(1, 4) for d in (12, 13, 16)]
    with pytest.raises(Exception, match="COPY"):
        import_bars([_file(tmp_path, lines)], chunksize=3, progress=False)
    monkeypatch.setattr(bulk, "binary_copy_rows", original)
    assert len(chunks) >= 2 and DailyBar.objects.count() == 0 and indexes() == before
