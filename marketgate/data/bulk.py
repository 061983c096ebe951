"""Bulk upserts of market data: the one place that writes bars in bulk.

Used by the CSV importers and by provider ingest. On PostgreSQL daily bars go through
COPY into a temporary table and one INSERT ... ON CONFLICT DO UPDATE per batch (a
million rows in seconds); elsewhere (SQLite in the embedded run) through
bulk_create(update_conflicts=True). Either way a re-import updates rows, never
duplicates them.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pandas as pd
from django.db import IntegrityError, connections, transaction

from marketgate.data.binary_copy import BAR_FIELDS, binary_copy_rows
from marketgate.models import DailyBar

# Rows per bulk_create statement on the ORM path (bars on SQLite, and the instrument,
# index and breadth tables of market_upserts.py).
ORM_BATCH = 5_000
# A first chunk at least this big into an empty bar table: build its indexes at the end.
REBUILD_MIN_ROWS = 100_000
# A chunk's COPY data is written to the stream in slices of this many bytes.
COPY_BLOCK = 1 << 20


def _bar_columns() -> tuple[str, str, list[str]]:
    table = DailyBar._meta.db_table
    ticker_column = DailyBar._meta.get_field("instrument").column
    return table, ticker_column, [DailyBar._meta.get_field(f).column for f in BAR_FIELDS]


def upsert_daily_bars(
    frame: pd.DataFrame, *, using: str = "default", method: str | None = None, load: BulkLoad | None = None,
    keys: np.ndarray | None = None,
) -> int:
    """Insert or update bars (columns ticker, BAR_FIELDS).

    `method` is "copy" (PostgreSQL only) or "orm"; by default COPY on PostgreSQL.
    Instruments must exist (see ensure_instruments). Returns the rows written.
    `load`: the BulkLoad of a big import calling this once per chunk (see there).
    `keys`: a distinct int64 per (ticker, date) of `frame`, from a caller that already
    dropped its duplicates (keys comparable across the chunks of one BulkLoad).
    """
    if frame.empty:
        return 0
    if keys is None:
        # One statement may not touch a row twice; the last of duplicates wins.
        frame = frame.drop_duplicates(["ticker", "date"], keep="last")
    connection = connections[using]
    method = method or ("copy" if connection.vendor == "postgresql" else "orm")
    if method == "copy":
        return _copy_upsert_bars(frame, using, load, keys)
    return _orm_upsert_bars(frame, using)


class BulkLoad:
    """One file's chunks written into the bar table, in one transaction.

    A big file into an empty table (a first load) is written without its indexes
    (primary key, unique (ticker, date), date), which are built once at the end:
    maintaining the unique and date indexes row by row made a million-row load 5-7x
    slower than the COPY itself (their pages fall out of shared buffers), building
    them afterwards ~1x; the primary key, maintained, kept the COPY itself behind the
    Python that prepares the next chunk. Each chunk is COPYed in the background
    (`write`) while the next one is prepared. The table is locked (ACCESS EXCLUSIVE)
    from the first chunk to the commit; it was empty, so no reader waits on anything
    it could have read. Everything else (a table that has bars) keeps its indexes and
    goes chunk by chunk.
    """

    def __init__(self, using: str = "default", *, min_rows: int | None = None) -> None:
        self.using = using
        self.min_rows = REBUILD_MIN_ROWS if min_rows is None else min_rows
        self.decided = False
        self.rebuild: list[str] = []  # statements recreating what was dropped
        self.first_load = False  # the table was empty and locked before the first chunk
        self._writer: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None
        self._ids: dict[str, int] = {}
        self._keys: list[np.ndarray] = []

    @property
    def unindexed(self) -> bool:
        return bool(self.rebuild)

    def decide(self, cursor, rows: int) -> None:  # type: ignore[no-untyped-def]
        self.decided = True
        if rows < self.min_rows:
            return
        table = DailyBar._meta.db_table
        cursor.execute(f'SELECT NOT EXISTS (SELECT 1 FROM "{table}")')
        if not cursor.fetchone()[0]:
            return
        cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        cursor.execute(f'SELECT NOT EXISTS (SELECT 1 FROM "{table}")')
        if not cursor.fetchone()[0]:
            return  # a bar arrived between the check and the lock
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid), conindid FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('p', 'u') ORDER BY contype", [table])
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT (i.indexrelid = ANY(%s))",
            [table, [c[2] for c in constraints]])
        indexes = cursor.fetchall()
        for name, _definition, _index in constraints:
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        self.first_load = True
        self.rebuild = [f'ALTER TABLE "{table}" ADD CONSTRAINT "{n}" {d}' for n, d, _i in constraints]
        self.rebuild += [d for _n, d in indexes]

    def write(self, target: str, fmt: str, data: bytes | str, dates: Iterable[object]) -> None:
        """COPY `data` into the (unindexed) table in the background: the caller prepares
        the next chunk while PostgreSQL takes this one. One COPY at a time, on the
        file's own connection and transaction (psycopg holds the connection for the
        whole COPY, so any other statement waits its turn)."""
        self.wait()
        connection = connections[self.using]
        connection.ensure_connection()
        raw = connection.connection

        def copy() -> None:
            statement = f"COPY {target} FROM STDIN (FORMAT {fmt})"
            with raw.cursor() as cursor, dates_logged(cursor, dates), cursor.copy(statement) as stream:
                view = memoryview(data) if isinstance(data, bytes) else data
                for start in range(0, len(data), COPY_BLOCK):
                    stream.write(view[start : start + COPY_BLOCK])

        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bar-copy")
        self._pending = self._writer.submit(copy)

    def wait(self) -> None:
        """Until the COPY in flight is done; its error, if any, is raised here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> BaseException | None:
        """Let the COPY in flight end (on any exit: the transaction cannot roll back
        under it) and stop the writer thread; the COPY's error, if any, is returned."""
        try:
            self.wait()
        except Exception as exc:  # handed to the caller, who raises it
            return exc
        finally:
            if self._writer is not None:
                self._writer.shutdown(wait=True)
                self._writer = None
        return None

    def note(self, frame: pd.DataFrame, keys: np.ndarray | None = None) -> None:
        """Remember the chunk's keys: a key in two chunks must be settled before the
        unique index is built (the later row wins, as an upsert would)."""
        if keys is not None:
            self._keys.append(keys)
            return
        codes, names = pd.factorize(frame["ticker"])
        ids = np.array([self._ids.setdefault(name, len(self._ids)) for name in names], dtype="int64")
        days = pd.to_datetime(frame["date"]).to_numpy().astype("datetime64[D]").astype("int64")
        self._keys.append(ids[codes] * 1_000_000 + days)

    def finish(self) -> None:
        """Build what was dropped (inside the file's transaction); a no-op otherwise."""
        self.wait()
        if not self.rebuild:
            return
        table, ticker_column, _ = _bar_columns()
        keys = np.concatenate(self._keys) if self._keys else np.array([], dtype="int64")
        with connections[self.using].cursor() as cursor:
            ordered = np.sort(keys)  # (np.unique hashes: seconds for a million keys)
            if (ordered[1:] == ordered[:-1]).any():
                cursor.execute(
                    f'DELETE FROM "{table}" a USING "{table}" b WHERE a."{ticker_column}" = b."{ticker_column}"'
                    ' AND a."date" = b."date" AND a.id < b.id')
            # Sorting a million keys in memory instead of in temporary files.
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for statement in self.rebuild:
                cursor.execute(statement)
        self.rebuild = []


def _copy_upsert_bars(
    frame: pd.DataFrame, using: str, load: BulkLoad | None = None, keys: np.ndarray | None = None
) -> int:
    table, ticker_column, columns = _bar_columns()
    all_columns = [ticker_column, *columns]
    quoted = ", ".join(f'"{c}"' for c in all_columns)
    changing = [c for c in columns if c != "date"]
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in changing)
    old = ", ".join(f'"{table}"."{c}"' for c in changing)
    new = ", ".join(f'EXCLUDED."{c}"' for c in changing)
    rows = frame[["ticker", *BAR_FIELDS]]
    binary = binary_copy_rows(rows)
    fmt = "binary" if binary is not None else "csv"
    data = binary if binary is not None else rows.to_csv(index=False, header=False)
    dates = frame["date"].unique()
    if load is not None and not load.decided:
        with connections[using].cursor() as cursor:
            load.decide(cursor, len(frame))
    if load is not None and load.unindexed:
        load.note(frame, keys)
        load.write(f'"{table}" ({quoted})', fmt, data, dates)
        return len(frame)
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        if not _any_stored(cursor, table, ticker_column, frame):
            # Nothing of this batch is stored yet (a first import, or new sessions): COPY
            # straight into the table, no staging and no speculative insertion.
            try:
                with transaction.atomic(using=using), dates_logged(cursor, dates):
                    _copy(cursor, f'"{table}" ({quoted})', fmt, data)
                    return len(frame)
            except IntegrityError:
                pass  # another writer stored some of these meanwhile: upsert below
        # Lives for the session, emptied at every commit; created once per connection.
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS import_dailybar (ticker varchar(6), date date, open float8,"
            " high float8, low float8, close float8, volume bigint, traded_value bigint, halted boolean)"
            " ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE import_dailybar")
        _copy(cursor, "import_dailybar", fmt, data)
        with dates_logged(cursor, dates):
            cursor.execute(
                f'INSERT INTO "{table}" ({quoted}) '
                "SELECT ticker, date, open, high, low, close, volume, traded_value, halted FROM import_dailybar "
                f'ON CONFLICT ("{ticker_column}", "date") DO UPDATE SET {updates} '
                # An unchanged row is not rewritten: re-importing a file costs reads, not writes.
                f"WHERE ({old}) IS DISTINCT FROM ({new})"
            )
            return cursor.rowcount


def _copy(cursor, target: str, fmt: str, data: bytes | str) -> None:  # type: ignore[no-untyped-def]
    with cursor.cursor.copy(f"COPY {target} FROM STDIN (FORMAT {fmt})") as copy:
        view = memoryview(data) if isinstance(data, bytes) else data
        for start in range(0, len(data), COPY_BLOCK):
            copy.write(view[start : start + COPY_BLOCK])


@contextmanager
def dates_logged(cursor, dates: Iterable[object]):  # type: ignore[no-untyped-def]
    """Insert bars of `dates` inside this block: they are logged here, once per date,
    for the bar cache (marketgate_barchange), instead of by the insert trigger, which
    without this logs "dates unknown". PostgreSQL only."""
    days = sorted({pd.Timestamp(d).date() for d in dates})
    cursor.execute("INSERT INTO marketgate_barchange (date) SELECT unnest(%s::date[])", [days])
    cursor.execute("SELECT set_config('stockgate.bar_dates_logged', 'on', true)")
    # Reset on success only: a failed insert leaves the transaction aborted (the setting
    # is local to it and goes with it), and a statement here would bury its error.
    yield
    cursor.execute("SELECT set_config('stockgate.bar_dates_logged', 'off', true)")


@contextmanager
def bar_dates(dates: Iterable[object], *, using: str = "default"):  # type: ignore[no-untyped-def]
    """Around an ORM insert of daily bars of `dates` (one transaction): log the dates for
    the bar cache, so it re-reads those dates rather than everything."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using), connection.cursor() as cursor, dates_logged(cursor, dates):
        yield


def _any_stored(cursor, table: str, ticker_column: str, frame: pd.DataFrame) -> bool:  # type: ignore[no-untyped-def]
    """Whether any ticker of the batch has a bar stored within the batch's own dates of
    that ticker (one index probe per ticker: a file cut into chunks mid-ticker still
    finds its next chunk new)."""
    days = pd.to_datetime(frame["date"])
    spans = days.groupby(frame["ticker"].to_numpy()).agg(["min", "max"])
    cursor.execute(
        f'SELECT EXISTS (SELECT 1 FROM unnest(%s::text[], %s::date[], %s::date[]) AS span(ticker, first, last)'
        f' JOIN "{table}" bar ON bar."{ticker_column}" = span.ticker AND bar."date" BETWEEN span.first AND span.last)',
        [list(spans.index), [d.date() for d in spans["min"]], [d.date() for d in spans["max"]]],
    )
    return bool(cursor.fetchone()[0])


def _orm_upsert_bars(frame: pd.DataFrame, using: str) -> int:
    frame = frame[["ticker", *BAR_FIELDS]].copy()
    if pd.api.types.is_datetime64_any_dtype(frame["date"]):
        frame["date"] = frame["date"].dt.date
    rows = frame.astype(object).where(frame.notna(), None)
    objects = [
        DailyBar(instrument_id=t, date=d, open=o, high=h, low=lo, close=c, volume=v, traded_value=tv, halted=bool(x))
        for t, d, o, h, lo, c, v, tv, x in rows.itertuples(index=False, name=None)
    ]
    with transaction.atomic(using=using):
        DailyBar.objects.using(using).bulk_create(
            objects,
            batch_size=ORM_BATCH,
            update_conflicts=True,
            unique_fields=["instrument", "date"],
            update_fields=[f for f in BAR_FIELDS if f != "date"],
        )
    return len(objects)
