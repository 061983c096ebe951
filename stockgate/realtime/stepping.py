"""Run a coroutine eagerly: to its end when it never suspends, else hand the rest over.

Broadcasts reach thousands of sockets from one loop. Making a task per socket per
broadcast costs a task wakeup each; most of those coroutines never suspend (a
writable socket, a handler that only queues a frame), so they are driven one step at
once and only the rare one that does suspend continues in a task.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any


class Resume:
    """Await the rest of a coroutine that was already driven to its first suspension."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self.coro, self.first
        while True:
            try:
                value = yield pending  # the future the coroutine waits on goes to the task
            except BaseException as exc:  # cancellation reaches the coroutine as it would
                try:
                    pending = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    pending = coro.send(value)
                except StopIteration as stop:
                    return stop.value


def step(coro: Coroutine[Any, Any, Any]) -> Resume | None:
    """Drive `coro` until it finishes (None) or suspends (the rest, to be awaited).

    Exceptions raised before the first suspension propagate to the caller."""
    try:
        pending = coro.send(None)
    except StopIteration:
        return None
    return Resume(coro, pending)
