"""The scan's bar cache against real PostgreSQL: what it serves must always equal a fresh
database read (split-adjusted, as the scanner reads), after an ingest of a new session,
after a correction (a bar re-imported or edited, a date deleted), after a split is
stored, and a cache file that is stale, of another database, damaged or truncated is
never used. A transaction's own uncommitted writes are read but never saved.

Transactional tests: the cache is only saved outside a transaction that wrote bars,
so these tests commit like the real import and ingest do."""

from __future__ import annotations

import json
import logging
import struct
import zlib
from datetime import date

import numpy as np
import pandas as pd
import pytest
from django.db import connection, transaction

from marketgate.data import bar_cache, bar_cache_file, bulk, market_upserts
from marketgate.data.adjustment_store import adjusted, refresh_adjustments
from marketgate.data.bar_columns import day_number
from marketgate.models import AdjustmentFactor, DailyBar
from signals.scans import loading
from signals.scans.service import ScanRequest, run_scan
from tests.factories import weekdays

pytestmark = pytest.mark.django_db(transaction=True)

TICKERS = ("000010", "000020", "000030")
DAYS = weekdays(40, end=date(2025, 6, 13))
NEXT_DAY = date(2025, 6, 16)


def bars_frame(tickers=TICKERS, days=DAYS, base: float = 1000.0) -> pd.DataFrame:
    rows = []
    for n, ticker in enumerate(tickers):
        for i, day in enumerate(days):
            close = base * (n + 1) + i * 10
            rows.append({"ticker": ticker, "date": day, "open": close - 5, "high": close + 10, "low": close - 10,
                         "close": close, "volume": 1000 + i, "traded_value": None if i % 7 == 0 else close * 1000,
                         "halted": False})
    frame = pd.DataFrame(rows)
    frame["traded_value"] = frame["traded_value"].astype("Int64")
    return frame


def store(frame: pd.DataFrame) -> None:
    market_upserts.ensure_instruments(frame["ticker"])
    bulk.upsert_daily_bars(frame)


def fresh(start: date, end: date) -> pd.DataFrame:
    """What the scan reads without the cache, in the cache's row order."""
    return adjusted(loading.load_bars(start, end), until=end).sort_values(["ticker", "date"]).reset_index(drop=True)


def assert_same(start: date, end: date) -> pd.DataFrame:
    cached = bar_cache.cached_bars(start, end)
    assert cached is not None, "the cache should serve this window"
    pd.testing.assert_frame_equal(cached, fresh(start, end))
    return cached


@pytest.fixture
def cache(settings, tmp_path):
    settings.BAR_CACHE_DIR = tmp_path
    settings.BAR_CACHE_SESSIONS = 30  # fewer than stored: the window trims as sessions arrive
    bar_cache._memo.clear()
    store(bars_frame())
    return tmp_path


def test_cached_bars_equal_a_fresh_read_after_ingest_correction_and_split(cache):
    start, end = DAYS[-25], DAYS[-1]
    assert_same(start, end)
    path = bar_cache.cache_path()
    assert path.exists()
    assert bar_cache_file.read_file(path).from_date == DAYS[-30]

    # Ingest: a new session arrives through the bulk path the daily ingest uses, and the
    # ingest's refresh (on commit) brings the file up to date before any scan.
    store(bars_frame(days=(NEXT_DAY,), base=1500.0))
    bar_cache.refresh()
    saved = bar_cache_file.read_file(path)
    assert saved.days.max() == day_number(NEXT_DAY) and saved.from_date == DAYS[-29]
    assert_same(DAYS[-25], NEXT_DAY)

    # Corrections: a bar re-imported with another close (ON CONFLICT update), one edited
    # as in the admin (a plain UPDATE), a whole date deleted.
    store(bars_frame(tickers=("000020",), days=(DAYS[-3],), base=7000.0))
    DailyBar.objects.filter(instrument_id="000010", date=DAYS[-10]).update(close=1234.5, halted=True)
    DailyBar.objects.filter(date=DAYS[-5]).delete()
    cached = assert_same(DAYS[-25], NEXT_DAY)
    assert DAYS[-5] not in set(cached["date"].dt.date)
    assert cached.loc[(cached["ticker"] == "000020") & (cached["date"] == pd.Timestamp(DAYS[-3])), "close"].item() == 7000.0

    # A bar added one by one (the admin's "add"): the insert trigger cannot name its
    # date, so the whole window is re-read.
    market_upserts.ensure_instruments(["000040"])
    DailyBar.objects.create(instrument_id="000040", date=DAYS[-4], open=10, high=11, low=9, close=10, volume=5)
    cached = assert_same(DAYS[-25], NEXT_DAY)
    assert "000040" in set(cached["ticker"])

    # A 2:1 split on the new session: detected and stored as a factor, which every read
    # applies to the history before it (the stored bars stay as traded).
    store(bars_frame(tickers=("000030",), days=(NEXT_DAY,), base=0.0).assign(
        open=1695.0, high=1710.0, low=1690.0, close=1700.0))  # the last close was 3,390
    found = refresh_adjustments(["000030"], NEXT_DAY, NEXT_DAY)
    assert found["factor"].tolist() == [2.0]
    cached = assert_same(DAYS[-25], NEXT_DAY)
    before = cached[(cached["ticker"] == "000030") & (cached["date"] == pd.Timestamp(DAYS[-1]))]
    assert before["adj_factor"].item() == 2.0 and before["close"].item() == (3000 + 39 * 10) / 2
    # ... and a factor entered by hand, no bar written at all.
    AdjustmentFactor.objects.create(ticker="000010", ex_date=DAYS[-12], factor=0.5, source="manual",
                                    prev_close=1.0, open=2.0)
    assert_same(DAYS[-25], NEXT_DAY)
    # A scan of a past date inside the window still gets that date's own prices.
    assert_same(DAYS[-28], DAYS[-2])


def test_a_window_older_than_the_cache_is_read_from_the_database(cache):
    assert bar_cache.cached_bars(DAYS[-25], DAYS[-1]) is not None
    assert bar_cache.cached_bars(DAYS[0], DAYS[-1]) is None  # before from_date: the caller reads the database


def _rewrite(path, mutate_header=None, mutate_blob=None) -> None:
    blob = bytearray(path.read_bytes())
    if mutate_header is not None:
        size, _ = struct.unpack_from("<II", blob, 8)
        header = json.loads(bytes(blob[16:16 + size]))
        mutate_header(header)
        raw = json.dumps(header).encode()
        start = 16 + size + (-(16 + size) % 64)
        lead = bar_cache_file.MAGIC + struct.pack("<II", len(raw), zlib.crc32(raw)) + raw
        lead += b"\0" * (-len(lead) % 64)
        blob = bytearray(lead) + blob[start:]
    if mutate_blob is not None:
        mutate_blob(blob)
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("damage, reason", [
    ("flip", "checksum mismatch"),
    ("truncate", "truncated"),
    ("header", "damaged header"),
    ("other_database", "another database"),
    ("format", "format"),
])
def test_a_damaged_or_foreign_cache_file_is_detected_and_rebuilt(cache, damage, reason, caplog):
    start, end = DAYS[-25], DAYS[-1]
    assert_same(start, end)
    path = bar_cache.cache_path()
    if damage == "flip":
        def flip(blob):
            blob[-100] ^= 0xFF
        _rewrite(path, mutate_blob=flip)
    elif damage == "truncate":
        _rewrite(path, mutate_blob=lambda blob: blob.__delitem__(slice(len(blob) - 4096, None)))
    elif damage == "header":
        def scramble(blob):
            blob[20] ^= 0x01
        _rewrite(path, mutate_blob=scramble)
    elif damage == "other_database":
        _rewrite(path, mutate_header=lambda h: h["identity"].update(database=h["identity"]["database"] + 1))
    else:
        _rewrite(path, mutate_header=lambda h: h.update(format=bar_cache_file.FORMAT + 1))
    with pytest.raises(bar_cache_file.CacheUnusable) if damage != "other_database" else _nothing():
        bar_cache_file.read_file(path)
    with caplog.at_level(logging.WARNING, logger="marketgate.data.bar_cache"):
        assert_same(start, end)
    assert reason in caplog.text
    bar_cache_file.read_file(path)  # rebuilt: readable again


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_an_old_file_put_back_is_stale_and_its_changed_dates_are_reread(cache):
    """A file from before a change (a backup restored, a second process's older copy)
    carries its older snapshot: the change is read from the database, not missed."""
    start, end = DAYS[-25], DAYS[-1]
    assert_same(start, end)
    path = bar_cache.cache_path()
    old = path.read_bytes()
    DailyBar.objects.filter(instrument_id="000020", date=DAYS[-2]).update(close=99.0)
    assert_same(start, end)
    path.write_bytes(old)
    bar_cache._memo.clear()
    cached = assert_same(start, end)
    assert cached.loc[(cached["ticker"] == "000020") & (cached["date"] == pd.Timestamp(DAYS[-2])), "close"].item() == 99.0


def test_a_truncated_table_rebuilds_the_cache(cache):
    assert_same(DAYS[-25], DAYS[-1])
    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{DailyBar._meta.db_table}"')
    assert bar_cache.cached_bars(DAYS[-25], DAYS[-1]) is None  # nothing stored: nothing cached
    store(bars_frame(base=5000.0))
    assert_same(DAYS[-25], DAYS[-1])


def test_uncommitted_writes_are_read_but_never_saved(cache):
    start, end = DAYS[-25], DAYS[-1]
    assert_same(start, end)
    path = bar_cache.cache_path()
    before = path.read_bytes()
    with transaction.atomic():
        DailyBar.objects.filter(instrument_id="000010", date=DAYS[-1]).update(close=1.0)
        cached = assert_same(start, end)
        assert cached.loc[(cached["ticker"] == "000010") & (cached["date"] == pd.Timestamp(DAYS[-1])), "close"].item() == 1.0
        transaction.set_rollback(True)
    assert path.read_bytes() == before
    cached = assert_same(start, end)
    assert cached.loc[(cached["ticker"] == "000010") & (cached["date"] == pd.Timestamp(DAYS[-1])), "close"].item() != 1.0


def test_the_scan_reads_through_the_cache_and_finds_the_same_market(cache, settings):
    """run_scan() with and without the cache: the same result."""
    settings.BAR_CACHE_SESSIONS = 400  # the scan's window (320 sessions) must fit
    with_cache = run_scan(ScanRequest(as_of=DAYS[-1]), dry_run=True)
    assert bar_cache.cache_path().exists()
    settings.BAR_CACHE_SESSIONS = 0
    without = run_scan(ScanRequest(as_of=DAYS[-1]), dry_run=True)
    assert with_cache.result.universe_count == without.result.universe_count
    assert with_cache.result.rejections == without.result.rejections
    assert np.isfinite(with_cache.timings["load"])
