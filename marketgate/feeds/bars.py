"""1-minute OHLCV bars from ticks. Pure: no Django, no I/O.

The feed folds every tick into the bar of its minute (market time, KST) and hands
over a bar once its minute is over: when a later tick arrives, or when the market
clock passes the minute's end (quiet tickers). A bar's volume is the sum of the
volume traded in its ticks; its session date is the KRX session the minute is in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from marketgate.calendar import KST, kst_date

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class MinuteBar:
    ticker: str
    minute: datetime  # start of the minute, KST-aware
    session_date: date
    open: int
    high: int
    low: int
    close: int
    volume: int
    ticks: int

    def add(self, price: int, volume: int) -> MinuteBar:
        return replace(
            self, high=max(self.high, price), low=min(self.low, price), close=price,
            volume=self.volume + volume, ticks=self.ticks + 1,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker, "minute": self.minute.isoformat(), "session_date": self.session_date.isoformat(),
            "open": self.open, "high": self.high, "low": self.low, "close": self.close,
            "volume": self.volume, "ticks": self.ticks,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MinuteBar:
        return cls(
            ticker=data["ticker"], minute=datetime.fromisoformat(data["minute"]),
            session_date=date.fromisoformat(data["session_date"]), open=int(data["open"]), high=int(data["high"]),
            low=int(data["low"]), close=int(data["close"]), volume=int(data["volume"]), ticks=int(data["ticks"]),
        )


def minute_of(moment: datetime) -> datetime:
    return moment.astimezone(KST).replace(second=0, microsecond=0)


class BarBuilder:
    def __init__(self) -> None:
        self.open_bars: dict[str, MinuteBar] = {}

    def add(self, ticker: str, price: int, trade_volume: int, as_of: datetime) -> list[MinuteBar]:
        """Fold one tick in; returns the bars it completed (0 or 1)."""
        minute = minute_of(as_of)
        current = self.open_bars.get(ticker)
        if current is not None and current.minute == minute:
            self.open_bars[ticker] = current.add(price, trade_volume)
            return []
        self.open_bars[ticker] = MinuteBar(
            ticker, minute, kst_date(minute), price, price, price, price, max(0, trade_volume), 1
        )
        # A tick from an earlier minute than the open bar (the demo loop starting over,
        # a late frame) also closes the open bar: it is never merged across minutes.
        return [current] if current is not None else []

    def due(self, market_now: datetime) -> list[MinuteBar]:
        """Bars whose minute is over by `market_now` (quiet tickers)."""
        done = [bar for bar in self.open_bars.values() if bar.minute + MINUTE <= market_now]
        for bar in done:
            del self.open_bars[bar.ticker]
        return done

    def drain(self) -> list[MinuteBar]:
        bars = list(self.open_bars.values())
        self.open_bars.clear()
        return bars


def bars_from_ticks(ticks: Iterable[tuple[str, int, int, datetime]]) -> list[MinuteBar]:
    """Every bar of a tick sequence (ticker, price, trade volume, as_of), in order."""
    builder = BarBuilder()
    out: list[MinuteBar] = []
    for ticker, price, volume, as_of in ticks:
        out.extend(builder.add(ticker, price, volume, as_of))
    return out + builder.drain()
