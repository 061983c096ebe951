"""CSV import benchmark: a whole-market daily-bar file into PostgreSQL, against per-row ORM.

Measures, in one run on one database:
  floor     a bare COPY of FILE's rows (gzip read and streamed as it is) into a new,
            unindexed, logged table with DailyBar's columns: the least any import can cost
  fresh     import_bars() of FILE into an empty DailyBar table
  reimport  the same file again (every row already there and unchanged)
  baseline  a plain per-row `DailyBar.objects.update_or_create(...)` loop over the
            first --sample rows of FILE into an empty table, timed and EXTRAPOLATED
            to the file's row count (running it on a million rows takes too long)

and prints rows/s, the times, fresh/floor (goal: <= 2x) and baseline/fresh.

It empties marketgate_dailybar, so it refuses a database whose name does not end in
"_bench" (override with --force):

  createdb -h localhost -U postgres stockgate_bench
  DATABASE_URL=postgres://postgres@localhost:5432/stockgate_bench \\
      .venv/bin/python benchmarks/import_bench.py ../shared/data/krx/stocks_daily_2023-12_2025-06.csv.gz
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockgate.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@localhost:5432/stockgate_bench")
DEFAULT_FILE = REPO.parent / "shared" / "data" / "krx" / "stocks_daily_2023-12_2025-06.csv.gz"


def empty_bars() -> None:
    from django.db import connection

    from marketgate.models import DailyBar

    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{DailyBar._meta.db_table}"')
        cursor.execute(f'VACUUM ANALYZE "{DailyBar._meta.db_table}"')


def copy_floor(path: Path) -> float:
    """Seconds for a bare COPY of the file's rows into an unindexed table (dropped after)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS import_floor_bars")
        cursor.execute("CREATE TABLE import_floor_bars (ticker varchar(6), date date, open float8, high float8,"
                       " low float8, close float8, volume bigint)")
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    started = time.perf_counter()
    statement = "COPY import_floor_bars FROM STDIN (FORMAT csv, HEADER)"
    with connection.cursor() as cursor, opener(path, "rb") as handle, cursor.cursor.copy(statement) as copy:  # type: ignore[operator]
        while block := handle.read(1 << 20):
            copy.write(block)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE import_floor_bars")
    return elapsed


def sample_rows(path: Path, count: int) -> list[list[str]]:
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        next(handle)
        return [next(handle).rstrip("\n").split(",") for _ in range(count)]


def orm_baseline(rows: list[list[str]]) -> float:
    """Seconds for a per-row update_or_create of `rows` (the straightforward importer)."""
    from datetime import date

    from marketgate.data.market_upserts import ensure_instruments
    from marketgate.models import DailyBar

    ensure_instruments({r[0] for r in rows})
    started = time.perf_counter()
    for ticker, day, o, h, low, c, v in rows:
        DailyBar.objects.update_or_create(
            instrument_id=ticker,
            date=date.fromisoformat(day),
            defaults={"open": float(o), "high": float(h), "low": float(low), "close": float(c),
                      "volume": int(v), "halted": float(o) == 0},
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--sample", type=int, default=3_000, help="rows for the per-row ORM baseline (0: skip it)")
    parser.add_argument("--force", action="store_true", help="run on a database not named *_bench")
    args = parser.parse_args()
    if not args.file.is_file():
        sys.exit(f"{args.file}: not found")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from marketgate.data.bar_import import import_bars

    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or (not str(name).endswith("_bench") and not args.force):
        sys.exit(f"refusing to empty DailyBar in {connection.vendor} database {name!r} (want PostgreSQL *_bench)")
    call_command("migrate", verbosity=0, stdout=io.StringIO())
    load = os.getloadavg()[0]

    empty_bars()
    floor_s = copy_floor(args.file)
    started = time.perf_counter()
    fresh = import_bars([args.file], progress=False)
    fresh_s = time.perf_counter() - started
    floor_again_s = copy_floor(args.file)  # after, too: the load moves during a run
    rows = fresh.rows_read

    started = time.perf_counter()
    again = import_bars([args.file], progress=False)
    reimport_s = time.perf_counter() - started

    load_end = os.getloadavg()[0]
    empty_bars()
    if args.sample:
        baseline_s = orm_baseline(sample_rows(args.file, args.sample))
        baseline_rate = args.sample / baseline_s
        extrapolated_s = rows / baseline_rate
    floor = min(floor_s, floor_again_s)

    print(f"file                 {args.file.name} ({args.file.stat().st_size / 1e6:.1f} MB), {rows:,} rows")
    print(f"database             PostgreSQL {connection.pg_version // 10000} ({name}); "
          f"load average {load:.1f} at start, {load_end:.1f} after the imports")
    print(f"bare COPY floor      {floor_s:7.1f} s before the import, {floor_again_s:.1f} s after (unindexed table)")
    print(f"fresh import         {fresh_s:7.1f} s  {rows / fresh_s:10,.0f} rows/s  ({fresh.rows_written:,} written)")
    print(f"  fresh / floor      {fresh_s / floor:7.2f}x the faster floor (goal <= 2x: {'met' if fresh_s <= 2 * floor else 'MISSED'})")
    print(f"re-import (no-op)    {reimport_s:7.1f} s  {rows / reimport_s:10,.0f} rows/s  ({again.rows_written:,} changed)")
    if args.sample:
        print(f"per-row ORM baseline {baseline_s:7.1f} s for {args.sample:,} rows = {baseline_rate:,.0f} rows/s")
        print(f"  extrapolated to {rows:,} rows: {extrapolated_s:,.0f} s (ESTIMATE, not run)")
        print(f"ratio                fresh import is {extrapolated_s / fresh_s:.1f}x faster than per-row ORM")
    empty_bars()


if __name__ == "__main__":
    main()
