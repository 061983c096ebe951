"""The demo provider: a deterministic simulated KRX market, no network, no API key.

Daily history ends at the session before the live one; the live session is the
simulated session the demo clock (demo_clock.simulated_now) points at. Once that
session has closed (only with DEMO_CLOCK=real), its bars join the history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

import pandas as pd
from django.core.exceptions import ImproperlyConfigured

from marketgate.calendar import KST, previous_session
from marketgate.data.providers.base import (
    BAR_COLUMNS,
    INDEX_COLUMNS,
    LISTING_COLUMNS,
    IndexName,
    LiveIndexQuote,
    LiveQuote,
    SectorQuote,
)
from marketgate.data.providers.demo.clock import ClockMode, simulated_now
from marketgate.data.providers.demo.history import build_history
from marketgate.data.providers.demo.intraday import (
    DemoSession,
    build_session,
    closing_bars,
    index_quote,
    live_date,
    stock_quotes,
)
from marketgate.data.providers.demo.universe import SECTOR_ETFS, make_universe


def _setting(name: str, default: object) -> object:
    try:
        from django.conf import settings

        return getattr(settings, name, default)
    except ImproperlyConfigured:  # settings not configured: pure use of the simulator
        return default


class DemoProvider:
    name = "demo"
    is_demo = True

    def __init__(
        self,
        seed: int | None = None,
        n_tickers: int | None = None,
        clock: ClockMode | None = None,
        session_minutes: float | None = None,
        wall_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.seed = int(seed if seed is not None else _setting("DEMO_SEED", 7))  # type: ignore[arg-type]
        self.n_tickers = int(n_tickers if n_tickers is not None else _setting("DEMO_TICKERS", 300))  # type: ignore[arg-type]
        self.clock: ClockMode = clock or _setting("DEMO_CLOCK", "accelerated")  # type: ignore[assignment]
        self.session_minutes = float(
            session_minutes if session_minutes is not None else _setting("DEMO_SESSION_MINUTES", 30.0)  # type: ignore[arg-type]
        )
        self.wall_clock = wall_clock or (lambda: datetime.now(KST))

    # --- time ---

    def simulated_now(self, wall_now: datetime | None = None) -> datetime:
        return simulated_now(wall_now or self.wall_clock(), self.clock, self.session_minutes)

    def _session(self, wall_now: datetime | None = None) -> tuple[DemoSession, datetime]:
        sim = self.simulated_now(wall_now)
        return build_session(self.seed, self.n_tickers, live_date(sim)), sim

    # --- daily data ---

    def listing(self) -> pd.DataFrame:
        rows = [
            (i.ticker, i.name, i.name_en, i.market, i.kind, i.listed_shares)
            for i in make_universe(self.seed, self.n_tickers)
        ]
        return pd.DataFrame(rows, columns=LISTING_COLUMNS)

    def daily_bars(self, tickers: list[str] | None, start: date, end: date) -> pd.DataFrame:
        session, sim = self._session()
        history = build_history(self.seed, self.n_tickers, previous_session(session.day))
        bars = history.bars[BAR_COLUMNS]
        if sim >= session.closes:
            bars = pd.concat([bars, self._closing_frame(session)], ignore_index=True)
        mask = (bars["date"] >= start) & (bars["date"] <= end)
        if tickers is not None:
            mask &= bars["ticker"].isin(tickers)
        return bars[mask].reset_index(drop=True)

    def _closing_frame(self, session: DemoSession) -> pd.DataFrame:
        rows = []
        for ticker, (o, h, low, c, v) in closing_bars(session).items():
            rows.append((ticker, session.day, o, h, low, c, v, round(v * (h + low + 2 * c) / 4)))
        return pd.DataFrame(rows, columns=BAR_COLUMNS)

    def index_bars(self, index: IndexName, start: date, end: date) -> pd.DataFrame:
        session, sim = self._session()
        frame = build_history(self.seed, self.n_tickers, previous_session(session.day)).indices[index]
        if sim >= session.closes:
            values = session.index_values[index]
            today = {
                "date": session.day,
                "open": round(float(values[0]), 2),
                "high": round(float(values.max()), 2),
                "low": round(float(values.min()), 2),
                "close": round(float(values[-1]), 2),
                "volume": round(float(session.index_volumes[index][-1])),
                "traded_value": round(float(session.index_traded[index][-1]), -6),
            }
            frame = pd.concat([frame, pd.DataFrame([today])], ignore_index=True)
        mask = (frame["date"] >= start) & (frame["date"] <= end)
        return frame.loc[mask, INDEX_COLUMNS].reset_index(drop=True)

    def breadth(self, market: str, start: date, end: date) -> pd.DataFrame | None:
        return None  # derived from the stock bars, like any provider without breadth

    # --- live ---

    def live_index(self, index: IndexName, now: datetime) -> LiveIndexQuote | None:
        session, sim = self._session(now)
        return index_quote(session, index, sim)

    def live_quotes(self, tickers: list[str], now: datetime) -> dict[str, LiveQuote]:
        session, sim = self._session(now)
        return stock_quotes(session, tickers, sim)

    def sectors(self, now: datetime) -> list[SectorQuote] | None:
        quotes = self.live_quotes([ticker for ticker, _ in SECTOR_ETFS], now)
        return [
            {"name": name, "ticker": ticker, "change_pct": quotes[ticker].change_rate}
            for ticker, name in SECTOR_ETFS
            if ticker in quotes
        ]

    def demo_ticks(
        self,
        tickers: list[str],
        since: datetime,
        until: datetime,
        step: timedelta = timedelta(seconds=1),
    ) -> Iterator[LiveQuote]:
        """Ticks between two wall times, for a live feed without an upstream.

        Walks wall time from the first multiple of `step` after `since` up to `until`
        (inclusive) and, at each step, yields a LiveQuote for every ticker whose price
        on the tick grid differs from the step before. Stateless: a feed calls it
        every second with (last_until, now) and gets each change exactly once; two
        processes asking for the same window get the same ticks. `as_of` is the
        simulated time (13x wall speed with the default accelerated clock).
        """
        if step <= timedelta(0):
            raise ValueError("step must be positive")
        steps = int((since - datetime(2000, 1, 1, tzinfo=KST)) / step)
        moment = datetime(2000, 1, 1, tzinfo=KST) + step * (steps + 1)
        previous = self.live_quotes(tickers, moment - step)
        while moment <= until:
            current = self.live_quotes(tickers, moment)
            for ticker, quote in current.items():
                before = previous.get(ticker)
                if before is None or before.price != quote.price:
                    yield quote
            previous = current
            moment += step

