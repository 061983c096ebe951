"""The demo feed: the simulator's intraday ticks, no network, no credentials.

Every PRICE_DEMO_TICK_SECONDS it asks the demo provider for the registered tickers'
quotes and emits a tick for each one whose price or volume moved, with the volume
traded since the last tick. The simulator is deterministic, so every process sees
the same market; the session object only decides which tickers are emitted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from django.conf import settings

from marketgate.calendar import KST
from marketgate.data.providers.base import LiveQuote
from marketgate.data.providers.demo.provider import DemoProvider
from marketgate.feeds.base import Tick


class DemoSession:
    def __init__(self, provider: DemoProvider, interval: float, wall_clock: Callable[[], datetime]) -> None:
        self.provider = provider
        self.interval = interval
        self.wall_clock = wall_clock
        self.registered: set[str] = set()
        self.last: dict[str, LiveQuote] = {}
        self.closed = asyncio.Event()

    async def register(self, ticker: str) -> None:
        self.registered.add(ticker)

    async def release(self, ticker: str) -> None:
        self.registered.discard(ticker)
        self.last.pop(ticker, None)

    async def close(self) -> None:
        self.closed.set()

    async def ticks(self) -> AsyncIterator[Tick]:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not self.closed.is_set():
            tickers = sorted(self.registered)
            if tickers:
                # The first call builds the simulated session (seconds of numpy): off the loop.
                current = await asyncio.to_thread(self.provider.live_quotes, tickers, self.wall_clock())
                for ticker in tickers:
                    quote = current.get(ticker)
                    if quote is None or ticker not in self.registered:
                        continue
                    before = self.last.get(ticker)
                    self.last[ticker] = quote
                    if before is not None and (before.price, before.volume) == (quote.price, quote.volume):
                        continue
                    if before is not None and quote.as_of < before.as_of:
                        before = None  # the demo loop started a new session: volume restarts
                    traded = quote.volume - before.volume if before is not None else 0
                    yield Tick(
                        ticker=ticker, price=quote.price, change=quote.change, change_rate=quote.change_rate,
                        volume=quote.volume, trade_volume=max(0, traded), bid=quote.bid, ask=quote.ask,
                        as_of=quote.as_of, source="demo",
                    )
            next_at += self.interval
            delay = next_at - loop.time()
            if delay < 0:  # fell behind (slow first session build): do not burst to catch up
                next_at, delay = loop.time(), 0.0
            try:
                await asyncio.wait_for(self.closed.wait(), timeout=max(delay, 0.01))
            except TimeoutError:
                pass


class DemoFeed:
    source = "demo"

    def __init__(self, wall_clock: Callable[[], datetime] | None = None, interval: float | None = None) -> None:
        self.wall_clock = wall_clock or (lambda: datetime.now(KST))
        self.interval = interval if interval is not None else settings.PRICE_DEMO_TICK_SECONDS
        self.max_registrations = settings.PRICE_MAX_REGISTRATIONS
        self.provider = DemoProvider(wall_clock=self.wall_clock)

    async def prepare(self) -> None:
        """Build the simulated session before taking the session lock: it costs seconds
        of CPU, which must not starve the lock renewal once the lock is held."""
        await asyncio.to_thread(self.provider.live_quotes, ["005930"], self.wall_clock())

    async def open(self) -> DemoSession:
        return DemoSession(self.provider, self.interval, self.wall_clock)
