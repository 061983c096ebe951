"""Fetch many tickers from a per-ticker source: bounded concurrency, a rate limit,
retries with backoff, and the failures reported rather than raised. Pure (no Django).

The fdr provider reads one ticker per request (about 2,700 a day for the whole
market); run one after another that takes longer than the gap between the close and
the scan. `fetch_all` runs `fetch_one(ticker)` on `concurrency` threads, never starting
more than `rate_per_second` requests a second (politeness towards the source), and
returns what it got plus {ticker: error} for the rest, for the caller to record and
retry later.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd

log = logging.getLogger(__name__)


class RateLimiter:
    """At most `rate` starts a second across threads (evenly spaced)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self.sleep(start - now)


@dataclass
class FetchResult:
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # ticker -> last error
    requests: int = 0
    seconds: float = 0.0


def fetch_all(
    tickers: Iterable[str],
    fetch_one: Callable[[str], pd.DataFrame],
    *,
    concurrency: int = 8,
    rate_per_second: float = 20.0,
    attempts: int = 3,
    backoff: float = 1.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    """Every ticker through `fetch_one`; an error in `retry_on` is retried `attempts`
    times with jittered exponential backoff, any other error fails that ticker at once."""
    limiter = RateLimiter(rate_per_second)  # real waits: `sleep` is for the backoff
    result = FetchResult()
    lock = threading.Lock()
    started = time.perf_counter()

    def one(ticker: str) -> None:
        error = ""
        for attempt in range(1, attempts + 1):
            limiter.acquire()
            with lock:
                result.requests += 1
            try:
                frame = fetch_one(ticker)
            except retry_on as exc:
                error = f"{type(exc).__name__}: {exc}"
                if attempt < attempts:
                    sleep(backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.0))
                continue
            except Exception as exc:  # not worth retrying (bad data, a bug): report it
                error = f"{type(exc).__name__}: {exc}"
                break
            with lock:
                result.frames[ticker] = frame
            return
        with lock:
            result.failed[ticker] = error[:300]

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="fetch") as pool:
        list(pool.map(one, list(dict.fromkeys(tickers))))
    result.seconds = time.perf_counter() - started
    if result.failed:
        log.warning("fetch: %d of %d tickers failed (%s ...)", len(result.failed),
                    len(result.failed) + len(result.frames), ", ".join(list(result.failed)[:10]))
    return result
