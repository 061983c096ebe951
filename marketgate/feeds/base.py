"""The live price feed interface: one upstream session that streams trade ticks.

A feed is I/O only. `open()` logs in and opens ONE upstream session; the session
registers and releases tickers and yields ticks until the upstream goes away, when
it raises FeedDisconnected. Reconnecting, the single-session lock, demand and
publishing are the runner's job (marketgate.feeds.supervisor), the same for every feed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class FeedError(RuntimeError):
    """The upstream refused us (login, registration); the runner backs off and retries."""


class FeedDisconnected(FeedError):
    """The upstream session ended (dropped connection, missed heartbeats)."""


class CredentialsExpired(FeedError):
    """The upstream rejected a key or token: log in again before reconnecting."""


@dataclass(frozen=True)
class Tick:
    """One trade as the feed reports it; prices in whole won."""

    ticker: str
    price: int
    change: int
    change_rate: float  # percent
    volume: int  # cumulative for the session
    trade_volume: int  # this trade (0 when the feed only gives cumulative volume)
    bid: int | None
    ask: int | None
    as_of: datetime  # trade time from the feed, KST-aware
    source: str
    day_open: int | None = None
    day_high: int | None = None
    day_low: int | None = None


@dataclass(frozen=True)
class IndexTick:
    """A market index value from a feed that streams them (Kiwoom's 업종지수)."""

    index: str  # "KOSPI" | "KOSDAQ"
    value: float
    change: float
    change_rate: float  # percent
    volume: float | None
    as_of: datetime  # KST-aware
    source: str


class FeedSession(Protocol):
    async def register(self, ticker: str) -> None: ...

    async def release(self, ticker: str) -> None: ...

    def ticks(self) -> AsyncIterator[Tick | IndexTick]:
        """Ticks until the session ends; raises FeedDisconnected when the upstream goes away.
        A feed whose `streams_index` is true also yields IndexTicks."""
        ...

    async def close(self) -> None: ...


class PriceFeed(Protocol):
    """A feed may also define `async prepare()`: slow set-up done before the lock is taken,
    and `streams_index = True` when its sessions yield the market indices themselves (the
    runner then publishes those instead of polling the market-data provider)."""

    source: str
    max_registrations: int

    async def open(self) -> FeedSession:
        """Log in (refreshing keys that expired) and open one upstream session."""
        ...


def get_feed(name: str | None = None) -> PriceFeed:
    """The feed registered under `name` (default: settings.PRICE_FEED); see feeds.registry."""
    from marketgate.feeds.registry import create_feed

    return create_feed(name)
