"""The database reset after a transactional test (`django_db(transaction=True)`), made cheap.

Django ends such a test with `flush`: a TRUNCATE of every table, then the post_migrate
signal, whose receivers write the rows a migrated database starts with (content types,
permissions, the default beat schedules) one query and one commit at a time. That cost
close to a second per test here, and several hundred tests end that way.

The result is the same every time, so the first reset of a run is Django's own flush and
the rows it leaves are kept (COPY, per table). Every later reset, in one transaction,
empties the tables that hold rows (DELETE; TRUNCATE for a big one) and copies the kept
rows back: each test again starts from exactly the tables a flush leaves, with the same
content type and permission ids as after the first flush. Anything unexpected (a test
that changed a table's columns, another database engine) falls back to Django's flush.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import DatabaseError, connections, transaction
from django.test import TransactionTestCase

log = logging.getLogger(__name__)

# Above this size a table is truncated: DELETE's cost grows with the rows, TRUNCATE's does not.
TRUNCATE_BYTES = 1 << 20


@dataclass
class FlushedState:
    """The rows `flush` leaves in one database, per table, as COPY data."""

    key: Any
    tables: list[str]
    rows: dict[str, bytes] = field(default_factory=dict)


def _quoted(connection: Any, table: str) -> str:
    return str(connection.ops.quote_name(table))


def _state_key() -> Any:
    """What the post_migrate receivers' rows depend on besides the code: the default
    schedules (their period is a setting). A different key means a real flush."""
    from stockgate.schedules import default_schedules

    return tuple(default_schedules())


def _tables_with_rows(cursor: Any, connection: Any, tables: list[str]) -> list[str]:
    probes = " UNION ALL ".join(
        f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {_quoted(connection, t)})" for i, t in enumerate(tables)
    )
    cursor.execute(probes)
    return [tables[row[0]] for row in cursor.fetchall()]


def _capture(alias: str) -> FlushedState:
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))
        state = FlushedState(_state_key(), tables)
        raw = cursor.cursor
        for table in _tables_with_rows(cursor, connection, tables):
            data = io.BytesIO()
            with raw.copy(f"COPY {_quoted(connection, table)} TO STDOUT") as copy:
                for block in copy:
                    data.write(block)
            state.rows[table] = data.getvalue()
    return state


def _restore(alias: str, state: FlushedState) -> None:
    connection = connections[alias]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        dirty = set(_tables_with_rows(cursor, connection, state.tables)) | set(state.rows)
        names = sorted(dirty)
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND pg_total_relation_size(oid) > %s",
            [names, TRUNCATE_BYTES],
        )
        big = sorted(row[0] for row in cursor.fetchall())
        if big:
            # CASCADE: tables referring to these are emptied too (and refilled below if kept).
            cursor.execute(f"TRUNCATE {', '.join(_quoted(connection, t) for t in big)} CASCADE")
        # Django's foreign keys are deferred: the order of the deletes does not matter.
        for table in names:
            if table not in big:
                cursor.execute(f"DELETE FROM {_quoted(connection, table)}")
        raw = cursor.cursor
        for table, data in state.rows.items():
            with raw.copy(f"COPY {_quoted(connection, table)} FROM STDIN") as copy:
                copy.write(data)
        if "django_celery_beat_periodictasks" in state.rows:
            # A flush recreates the schedules, which tells a running beat to reload them.
            cursor.execute("UPDATE django_celery_beat_periodictasks SET last_update = now()")
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


class FastFlush:
    """Django's flush the first time (and whenever the fast way cannot be trusted), then
    the kept rows copied back (see the module's doc)."""

    def __init__(self, django_teardown: Callable[[TransactionTestCase], None]) -> None:
        self.django_teardown = django_teardown
        self.states: dict[str, FlushedState] = {}

    def __call__(self, case: TransactionTestCase) -> None:
        aliases = list(case._databases_names(include_mirrors=False))
        plain = case.available_apps is None and not case.serialized_rollback
        if not plain or any(connections[alias].vendor != "postgresql" for alias in aliases):
            self.django_teardown(case)
            return
        key = _state_key()
        if all(alias in self.states and self.states[alias].key == key for alias in aliases):
            try:
                for alias in aliases:
                    _restore(alias, self.states[alias])
                return
            except DatabaseError as error:
                log.warning("fast database reset failed (%s): flushing", error)
        self.django_teardown(case)
        for alias in aliases:
            self.states[alias] = _capture(alias)


@pytest.fixture(scope="session", autouse=True)
def _fast_flush() -> Iterator[None]:
    reset = FastFlush(TransactionTestCase._fixture_teardown)

    def _fixture_teardown(case: TransactionTestCase) -> None:
        reset(case)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", _fixture_teardown)
        yield
