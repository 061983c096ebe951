"""A full-market scan end to end: DB read -> compute -> signals saved -> broadcast.

    .venv/bin/python benchmarks/scan_e2e_bench.py [--runs 5] [--reference-runs 1]

Uses its own PostgreSQL database (SCAN_BENCH_DATABASE_URL, default
postgres://postgres@localhost:5432/stockgate_scanbench; created and migrated when
missing) and its own Redis key prefix, so it never touches a running system. The first
run fills the database: the real whole market from ../shared/data/krx through the
project's import commands when it is there (about 1.5 min), otherwise the synthetic
2,700-ticker market of scan_bench.py. Then it times `run_scan()` — the code the task,
the command and the API run — stage by stage, and the compute-only benchmark of
scan_bench.py (vectorised scanner vs the per-ticker pandas reference) in the same run.

The read is timed both ways in the same run: straight from the database
(`adjusted(load_bars())`, one COPY of the window) and through the bar cache
(`bar_cache.cached_bars()`, warm: the file is up to date). `run_scan()` itself reads
through the cache, as deployed (BAR_CACHE_SESSIONS > 0); its first run builds the file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("SCAN_BENCH_DATABASE_URL", "postgres://postgres@localhost:5432/stockgate_scanbench")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("REDIS_URL", "redis://localhost:6379/13")
os.environ.setdefault("REALTIME_PREFIX", "scanbench")
os.environ.setdefault("CHANNEL_PREFIX", "scanbench-layer")
os.environ.setdefault("SECRET_KEY", "scan-benchmark-only-secret-key-0123456789abcdef")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockgate.settings")


def ensure_database() -> None:
    import psycopg
    from psycopg import sql

    name = DB_URL.rsplit("/", 1)[1].split("?")[0]
    admin = DB_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def fill_market() -> str:
    """Bars in the database (once); returns where they came from."""
    from django.core.management import call_command

    from benchmarks.scan_bench import BARS_FILE, DATA, synthetic_market
    from marketgate.data.bulk import upsert_daily_bars
    from marketgate.models import DailyBar, Instrument

    if (DATA / BARS_FILE).exists():
        if not DailyBar.objects.exists():
            print("importing the real market (once)...", flush=True)
            call_command("import_listing", str(DATA / "listing.csv"))
            call_command("import_bars", str(DATA / BARS_FILE), "--no-progress")
        return "real"
    if not DailyBar.objects.exists():
        print("storing a synthetic market (once)...", flush=True)
        bars, instruments = synthetic_market()
        Instrument.objects.bulk_create(
            [Instrument(ticker=r.ticker, name=r.name, market=r.market, kind=r.kind) for r in instruments.itertuples()],
            ignore_conflicts=True,
        )
        bars["date"] = bars["date"].dt.date
        bars["traded_value"] = None
        bars["halted"] = False
        upsert_daily_bars(bars)
    return "synthetic"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reference-runs", type=int, default=1)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.scan_bench import REAL_DAY, run_compute_benchmark
    from marketgate.models import DailyBar
    from signals.scans import service
    from signals.scans.service import ScanRequest, run_scan

    call_command("migrate", verbosity=0)
    source = fill_market()
    day = DailyBar.objects.order_by("-date").values_list("date", flat=True).first()
    assert day is not None
    day = min(day, REAL_DAY)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketgate_dailybar")

    broadcast_s: list[float] = []
    real_broadcast = service.broadcast_signals

    def timed_broadcast(d):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return real_broadcast(d)
        finally:
            broadcast_s.append(time.perf_counter() - started)

    service.broadcast_signals = timed_broadcast
    rows, stages = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        outcome = run_scan(ScanRequest(as_of=day, triggered_by="benchmark"))
        total = time.perf_counter() - started  # on_commit has run: the frame is published
        stages.append({**outcome.timings, "broadcast": broadcast_s[-1], "end_to_end": total})
        rows.append(outcome)
    med = {k: statistics.median(s[k] for s in stages) for k in ("load", "compute", "save", "broadcast", "end_to_end")}
    last = rows[-1]
    bars = DailyBar.objects.filter(date__lte=day).values("instrument_id").distinct().count()

    from marketgate.data import bar_cache
    from marketgate.data.adjustment_store import adjusted
    from signals.scans import loading

    start = loading.bar_window_start(day, 320)
    db_read, cache_read = [], []
    for _ in range(args.runs):
        mark = time.perf_counter()
        fresh = adjusted(loading.load_bars(start, day), until=day)
        db_read.append(time.perf_counter() - mark)
        mark = time.perf_counter()
        cached = bar_cache.cached_bars(start, day)
        cache_read.append(time.perf_counter() - mark)
    assert cached is not None and len(cached) == len(fresh), "the cache should serve the scan's window"
    read_db, read_cache = statistics.median(db_read), statistics.median(cache_read)

    compute = run_compute_benchmark(args.runs, args.reference_runs)
    print(f"\nend to end on the database ({source} data, {bars:,} tickers, scan date {day}), median of {args.runs}:")
    for key, value in med.items():
        print(f"  {key:12s} {value:7.3f} s")
    print(f"  universe {last.result.universe_count}, trend template {last.result.trend_template_count}, "
          f"signals {len(last.signals)}")
    print(f"\nread of the scan's window ({len(fresh):,} bars, split-adjusted), median of {args.runs}, same run:")
    print(f"  database (COPY + adjust)  {read_db:7.3f} s")
    print(f"  bar cache (warm)          {read_cache:7.3f} s   ({read_db / read_cache:.1f}x faster)")
    print(f"  compute (scan(), above)   {med['compute']:7.3f} s   cache read / compute = {read_cache / med['compute']:.2f}")
    print(f"  load average at the end   {os.getloadavg()[0]:.1f}")
    print(f"\ncompute only ({compute.source} data, {compute.tickers:,} tickers x {compute.sessions} sessions, "
          f"{compute.rows:,} rows):")
    print(f"  vectorised scan()        {compute.vectorised_s:7.3f} s (median of {args.runs})")
    print(f"  per-ticker pandas        {compute.reference_s:7.3f} s (median of {args.reference_runs})")
    print(f"  ratio                    {compute.ratio}x; same Trend Template set {compute.same_trend_template}, "
          f"same signals {compute.same_signals}")
    print(f"\ntargets: compute < 2 s: {'met' if compute.vectorised_s < 2 else 'MISSED'}; "
          f"end to end < 10 s: {'met' if med['end_to_end'] < 10 else 'MISSED'}; "
          f"read <= compute: {'met' if read_cache <= med['compute'] else 'MISSED'}")


if __name__ == "__main__":
    main()
