"""Which topics exist: the fixed ones, and `price:` topics of listed instruments only.

Matching the ticker pattern is not enough: an accepted topic creates Redis keys (its
epoch, sequence and history) and feed demand, so a client making up tickers could grow
Redis without end. Apps register the loader of the real tickers in AppConfig.ready()
(the transport imports no app: marketgate registers the instrument table).

Each web process keeps the set in memory, so a subscribe costs no query: it is reloaded
every WS_TICKERS_REFRESH_SECONDS, and when a ticker is not in it (listed since the last
load) at most once every WS_TICKERS_MISS_REFRESH_SECONDS, however many unknown tickers
hostile clients send. A failed load keeps the previous set.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable

from channels.db import database_sync_to_async
from django.conf import settings

from stockgate.realtime.topics import is_valid_topic, ticker_of

log = logging.getLogger(__name__)

# Synchronous (it reads the database); it runs in Channels' database thread.
TickerLoader = Callable[[], Iterable[str]]


class TickerCatalog:
    def __init__(self) -> None:
        self.loader: TickerLoader | None = None
        self.tickers: frozenset[str] = frozenset()
        self.loaded_at = -math.inf
        self.miss_reload_at = -math.inf
        # One load at a time per event loop, shared by every subscribe waiting on it.
        self._inflight: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}

    def register(self, loader: TickerLoader) -> None:
        self.loader = loader
        self.loaded_at = -math.inf

    async def knows(self, ticker: str) -> bool:
        now = time.monotonic()
        if now - self.loaded_at >= settings.WS_TICKERS_REFRESH_SECONDS:
            await self._reload()
        if ticker in self.tickers:
            return True
        if now - self.miss_reload_at < settings.WS_TICKERS_MISS_REFRESH_SECONDS:
            return False
        self.miss_reload_at = now
        await self._reload()
        return ticker in self.tickers

    async def _reload(self) -> None:
        loop = asyncio.get_running_loop()
        future = self._inflight.get(loop)
        if future is None:
            for old in [lp for lp in self._inflight if lp.is_closed()]:
                del self._inflight[old]
            future = self._inflight[loop] = asyncio.ensure_future(self._load())
            future.add_done_callback(lambda _: self._inflight.pop(loop, None))
        # A subscriber that goes away must not cancel the load for the others.
        await asyncio.shield(future)

    async def _load(self) -> None:
        loader = self.loader
        if loader is None:
            return
        try:
            tickers = await database_sync_to_async(lambda: frozenset(loader()))()
        except Exception:
            log.warning("could not load the listed tickers; keeping the %d known", len(self.tickers), exc_info=True)
            self.loaded_at = time.monotonic() - settings.WS_TICKERS_REFRESH_SECONDS + settings.WS_TICKERS_MISS_REFRESH_SECONDS
            return
        self.tickers = tickers
        self.loaded_at = time.monotonic()


tickers = TickerCatalog()


def register_tickers(loader: TickerLoader) -> None:
    tickers.register(loader)


async def exists(topic: str) -> bool:
    """True for a fixed topic or the price topic of a listed instrument; no Redis, and a
    database read only when the process's set is due for a reload."""
    if not is_valid_topic(topic):
        return False
    ticker = ticker_of(topic)
    return ticker is None or await tickers.knows(ticker)
