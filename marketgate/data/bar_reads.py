"""Reading stored daily bars in bulk: the long frame the scanner and the bar cache take.

On PostgreSQL the rows stream out with COPY into pandas' CSV parser, which is several
times faster than building ~900,000 Python tuples; other databases (the embedded SQLite
default) take the plain cursor path.
"""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pandas as pd
from django.db import connection

from marketgate.models import DailyBar

BAR_COLUMNS = ["ticker", "date", "open", "high", "low", "close", "volume", "traded_value", "halted"]


def bar_window_start(as_of: date, sessions: int) -> date | None:
    """The oldest of the last `sessions` distinct bar dates up to `as_of` (None: no bars)."""
    table = DailyBar._meta.db_table
    # A loose index scan: one index probe per date ("the latest date before the last
    # one"), so 320 probes instead of reading every bar to find the distinct dates.
    sql = (
        f"WITH RECURSIVE recent(d, n) AS ("
        f"SELECT MAX(date), 1 FROM {table} WHERE date <= %s "
        f"UNION ALL SELECT (SELECT MAX(date) FROM {table} WHERE date < recent.d), n + 1 "
        f"FROM recent WHERE recent.d IS NOT NULL AND n < %s) "
        f"SELECT MIN(d) FROM recent"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [as_of, sessions])
        row = cursor.fetchone()
    value = row[0] if row else None
    if isinstance(value, str):  # SQLite returns text
        value = date.fromisoformat(value)
    return value


def select_bars(where: str, params: list[object]) -> pd.DataFrame:
    """The bars matching `where` (SQL over the bar table's columns, %s placeholders)."""
    table = DailyBar._meta.db_table
    select = (
        f"SELECT ticker, date, open, high, low, close, volume, traded_value, halted FROM {table} "
        f"WHERE {where}"  # no ORDER BY: the panel sorts faster than the server
    )
    if connection.vendor == "postgresql":
        frame = _copy_frame(select, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(select, params)
            frame = pd.DataFrame(cursor.fetchall(), columns=BAR_COLUMNS)
        frame["date"] = pd.to_datetime(frame["date"])
        frame["halted"] = frame["halted"].astype(bool)
    return frame


def _copy_frame(select: str, params: list[object]) -> pd.DataFrame:
    from psycopg import sql

    connection.ensure_connection()
    raw = connection.connection
    statement = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(
        sql.SQL(select.replace("%s", "{}")).format(*(sql.Literal(p) for p in params))
    )
    buffer = io.BytesIO()
    # The raw cursor bypasses Django's error translation: without it a connection lost
    # mid-COPY raises psycopg's OperationalError, which the scan task's retry (and
    # Django's check of dead connections) would not recognise.
    with connection.wrap_database_errors, raw.cursor() as cursor, cursor.copy(statement) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    if not buffer.getbuffer().nbytes:  # no rows: read_csv would refuse an empty input
        return empty_bars()
    frame = pd.read_csv(
        buffer,
        names=BAR_COLUMNS,
        header=None,
        dtype={"ticker": str, "open": float, "high": float, "low": float, "close": float,
               "volume": float, "traded_value": float, "halted": str},
        engine="c",
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    frame["halted"] = (frame["halted"].to_numpy() == "t").astype(np.bool_)
    return frame


def empty_bars() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype=float) for column in BAR_COLUMNS})
    frame["ticker"] = frame["ticker"].astype(str)
    frame["date"] = frame["date"].astype("datetime64[us]")
    frame["halted"] = frame["halted"].astype(bool)
    return frame
