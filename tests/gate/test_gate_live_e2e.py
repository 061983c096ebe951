"""The gate with real processes on a real session's timeline (2025-06-16, clock
shifted for the processes only): worker + beat on the csv provider, which has no live
index of its own, with and without the price feed (stream_prices on the demo provider).

In session every gate row's KOSPI and as_of are values the feed stored, or the row is
the previous close labelled so (dated 2025-06-13, as_of its close). After the close the
daily ingest stores the session, a final row exists for it, and the scan the ingest
queues is capped by that final row.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date, datetime
from pathlib import Path

import pytest
import time_machine
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from marketgate.calendar import KST
from marketgate.data.after_close import sessions_without_final_gate
from marketgate.data.ingest import ingest
from marketgate.data.providers.csvfiles import CsvProvider
from marketgate.data.providers.demo.provider import DemoProvider
from marketgate.feeds.quotes import index_key
from marketgate.gate.service import compute_and_save
from marketgate.models import MarketGate
from signals.models import ScanRun
from stockgate.realtime.redis_conn import sync_client
from tests.processes import REPO, Proc, process_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SESSION = date(2025, 6, 16)
PREVIOUS = date(2025, 6, 13)
IN_SESSION = datetime(2025, 6, 16, 11, 0, tzinfo=KST)
AFTER_CLOSE = datetime(2025, 6, 16, 15, 31, tzinfo=KST)
DEMO = {"DEMO_CLOCK": "real", "DEMO_SEED": "7", "DEMO_TICKERS": "60"}


def clocked(name: str, at: datetime, kind: str, *args: str, **env: str) -> Proc:
    offset = at.timestamp() - time.time()
    return Proc(name, [sys.executable, str(REPO / "tests" / "clocked.py"), f"{offset:.3f}", kind, *args],
                process_env(**env))


def worker(at: datetime, **env: str) -> Proc:
    return clocked("worker", at, "celery", "-A", "stockgate", "worker", "--loglevel", "INFO", "--pool", "solo",
                   "--concurrency", "1", "-n", f"gate{time.time_ns()}@%h", "--without-gossip", "--without-mingle",
                   **env)


def beat(at: datetime, **env: str) -> Proc:
    return clocked("beat", at, "celery", "-A", "stockgate", "beat", "--loglevel", "INFO",
                   "-S", "django_celery_beat.schedulers:DatabaseScheduler",
                   "--pidfile", str(REPO / "var" / "test-logs" / f"beat-{time.time_ns()}.pid"), **env)


def export_demo_market(folder: Path) -> None:
    """The demo market as csv files, 2025-06-16's bars included (as a vendor's files
    would be after that close)."""
    with time_machine.travel(datetime(2025, 6, 16, 18, 0, tzinfo=KST), tick=False):
        demo = DemoProvider(seed=7, n_tickers=60, clock="real")
        start = date(2024, 1, 2)
        demo.listing()[["ticker", "name", "market"]].to_csv(folder / "listing.csv", index=False)
        (folder / "bars").mkdir()
        demo.daily_bars(None, start, SESSION).rename(columns={"traded_value": "value"}).to_csv(
            folder / "bars" / "demo.csv", index=False)
        for index in ("KOSPI", "KOSDAQ"):
            demo.index_bars(index, start, SESSION).rename(columns={"traded_value": "value"}).to_csv(
                folder / f"{index.lower()}_index_demo.csv", index=False)


@pytest.fixture
def market(tmp_path: Path, clean_redis):
    """The database as it stood on the morning of 2025-06-16; fast schedules."""
    export_demo_market(tmp_path)
    ingest(CsvProvider(tmp_path), date(2024, 1, 2), PREVIOUS)
    for day in sessions_without_final_gate(PREVIOUS):  # what the earlier days' ingests left
        compute_and_save(datetime(2025, 6, 13, 16, 0, tzinfo=KST), on_date=day)
    schedules = {"update-market-gate": 2, "ingest-daily-bars": 3}
    for name, seconds in schedules.items():
        task = PeriodicTask.objects.get(name=name)
        task.interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
        task.crontab, task.expire_seconds = None, None  # shifted clocks: no expiry races
        # Beat counts from last_run_at (else the row's real-time date_changed, a future
        # for the shifted clock): the morning of the session.
        task.last_run_at = datetime(2025, 6, 16, 8, 0, tzinfo=KST)
        task.save()
    PeriodicTask.objects.filter(name="scan-vcp").update(enabled=False)  # the ingest queues the scan
    return {"MARKET_DATA_PROVIDER": "csv", "MARKET_DATA_CSV_DIR": str(tmp_path), "INGEST_DELAY_MINUTES": "0",
            "GATE_PERIOD_SECONDS": "2", **DEMO}


def feed_values() -> dict[str, tuple[float, str]]:
    out = {}
    for name, raw in sync_client().hgetall(index_key()).items():
        data = json.loads(raw)["data"]
        out[name.decode() if isinstance(name, bytes) else name] = (round(float(data["index"]), 2), data["as_of"])
    return out


def run_session(env: dict[str, str], rows: int, *, with_feed: bool) -> set[tuple[str, float, str]]:
    """Worker + beat (+ feed) in session until `rows` session rows are saved (at most
    90 s); returns every (index, value, as_of) the feed stored while they ran."""
    procs: list[Proc] = []
    seen: set[tuple[str, float, str]] = set()
    try:
        if with_feed:
            feed = clocked("feed", IN_SESSION, "manage", "stream_prices", **{**env, "MARKET_DATA_PROVIDER": "demo",
                                                                             "PRICE_INDEX_SECONDS": "0.5"})
            procs.append(feed.start())
            deadline = time.monotonic() + 60
            while len(feed_values()) < 2:
                assert time.monotonic() < deadline and feed.alive(), feed.output()[-3000:]
                time.sleep(0.1)
        procs += [worker(IN_SESSION, **env).start(), beat(IN_SESSION, **env).start()]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and MarketGate.objects.exclude(basis="close").count() < rows:
            seen |= {(name, value, as_of) for name, (value, as_of) in feed_values().items()}
            time.sleep(0.03)
    finally:
        for proc in reversed(procs):
            proc.stop()
    return seen


def after_close(env: dict[str, str]) -> ScanRun:
    procs = [worker(AFTER_CLOSE, **env).start(), beat(AFTER_CLOSE, **env).start()]
    try:
        deadline = time.monotonic() + 120
        while not ScanRun.objects.filter(triggered_by="ingest", status__in=["succeeded", "failed"]).exists():
            assert time.monotonic() < deadline, procs[0].output()[-4000:]
            time.sleep(0.5)
    finally:
        for proc in reversed(procs):
            proc.stop()
    return ScanRun.objects.get(triggered_by="ingest")


def check_final_and_scan(run: ScanRun) -> None:
    final = MarketGate.objects.final().get(trading_date=SESSION)
    assert not final.provisional and final.as_of == datetime(2025, 6, 16, 15, 30, tzinfo=KST)
    assert MarketGate.latest() == final
    assert run.status == "succeeded", run.error
    assert run.trading_date == SESSION and run.parameters["gate_status"] == final.status


def test_with_the_feed_every_session_row_is_the_feeds_index_then_the_close_is_final(market):
    seen = run_session(market, 3, with_feed=True)
    rows = list(MarketGate.objects.filter(trading_date=SESSION))
    assert len(rows) >= 3
    stored = {(name, value) for name, value, _ in seen}
    for row in rows:
        assert row.basis == "live" and row.provisional and row.trading_date == SESSION, row.to_data()
        assert ("KOSPI", row.kospi) in stored and ("KOSDAQ", row.kosdaq) in stored, row.to_data()
        as_ofs = {datetime.fromisoformat(a) for name, v, a in seen if (name, v) in {("KOSPI", row.kospi), ("KOSDAQ", row.kosdaq)}}
        assert row.as_of in as_ofs, (row.as_of, sorted(as_ofs))
    check_final_and_scan(after_close(market))


def test_without_a_live_index_session_rows_are_the_labelled_previous_close_then_the_close_is_final(market):
    run_session(market, 3, with_feed=False)
    rows = list(MarketGate.objects.exclude(basis="close"))
    assert len(rows) >= 3
    assert {(r.basis, r.trading_date, r.as_of, r.provisional) for r in rows} == {
        ("previous_close", PREVIOUS, datetime(2025, 6, 13, 15, 30, tzinfo=KST), False)}
    assert MarketGate.objects.final().filter(trading_date=PREVIOUS).count() == 1
    assert not MarketGate.objects.filter(trading_date=SESSION).exists()
    check_final_and_scan(after_close(market))
