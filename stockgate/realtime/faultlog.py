"""Logging a handler's unexpected exception without a traceback per frame.

A failing dependency (Redis or the database down) or a bug hit by a hostile client can
make every inbound frame fail the same way; a traceback each time would flood the log
and slow the process. One traceback per place per WINDOW_SECONDS is kept; the ones in
between are counted and the count is named on the next line logged.
"""

from __future__ import annotations

import logging
import time

from stockgate.realtime import metrics

log = logging.getLogger("stockgate.realtime.consumer")

WINDOW_SECONDS = 60.0

# place -> (monotonic time of the last line logged, failures not logged since)
_seen: dict[str, tuple[float, int]] = {}


def failed(place: str, outcome: str = "answered with an error frame", *, level: int = logging.ERROR,
           now: float | None = None) -> bool:
    """Record a failure at `place` (call from an except block); True when it was logged."""
    metrics.HANDLER_FAILURES.labels(place=place).inc()
    now = time.monotonic() if now is None else now
    last, quiet = _seen.get(place, (float("-inf"), 0))
    if now - last < WINDOW_SECONDS:
        _seen[place] = (last, quiet + 1)
        return False
    _seen[place] = (now, 0)
    more = f" ({quiet} more like it in the last {WINDOW_SECONDS:.0f} s not logged)" if quiet else ""
    log.log(level, "%s failed; %s%s", place, outcome, more, exc_info=True)
    return True
