"""Broadcasts after commit, coalesced: one per key per transaction, however many rows changed.

A scan writes hundreds of signals in one transaction and an admin bulk action deletes
dozens; each row's post_save/post_delete asks for a broadcast, and subscribers need
exactly one, once the rows are visible to readers. Outside a transaction (autocommit)
the broadcast goes out at once, as Django's on_commit does.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from django.db import transaction


class _Pending:
    """An on_commit callback that can be found again by its key while it waits."""

    __slots__ = ("key", "send")

    def __init__(self, key: Hashable, send: Callable[[], object]) -> None:
        self.key = key
        self.send = send

    def __call__(self) -> None:
        self.send()


def broadcast_on_commit(key: Hashable, send: Callable[[], object], using: str | None = None) -> None:
    """Call `send` when the current transaction commits, at most once per `key`.

    A later request for the same key replaces the pending one's `send` (the code that
    finished the work knows best what to send); a rolled-back transaction or savepoint
    drops the request with its rows, as on_commit does. `robust`: a failed broadcast
    never stops the other callbacks of the commit."""
    connection = transaction.get_connection(using)
    if connection.in_atomic_block:
        for _savepoints, callback, _robust in connection.run_on_commit:
            if isinstance(callback, _Pending) and callback.key == key:
                callback.send = send
                return
    transaction.on_commit(_Pending(key, send), using=using, robust=True)
