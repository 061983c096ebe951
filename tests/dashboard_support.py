"""Shared pieces of the dashboard tests: rows, frames, the real server and a watched page.

Helpers of the browser tests; their fixtures (`server`, `browser`) are in tests/dashboard/conftest.py.
Chromium is Debian's (/usr/bin/chromium, or CHROMIUM_PATH); Playwright drives it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from marketgate.models import Instrument, MarketGate
from signals.models import Signal
from stockgate.realtime.broadcast import publish
from tests.processes import Proc

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}

COMPONENTS = [
    {"name": "trend", "points": 23, "max": 30, "reason": "KOSPI above MA20/MA60/MA120",
     "reason_ko": "KOSPI 20/60/120일선 위", "known": True, "market": "KOSPI"},
    {"name": "distribution", "points": 15, "max": 20, "reason": "KOSPI 3 distribution days in 25 sessions",
     "reason_ko": "KOSPI 최근 25거래일 분산일 3회", "known": True, "market": "KOSPI"},
    {"name": "breadth", "points": None, "max": 20, "reason": "KOSDAQ breadth unknown: no data",
     "reason_ko": "KOSDAQ 시장폭 알 수 없음: 데이터 없음", "known": False, "market": "KOSDAQ"},
]


def make_gate(level: int = 55, status: str = "YELLOW", *, as_of: datetime | None = None,
              computed_at: datetime | None = None, **extra: Any) -> MarketGate:
    now = timezone.now()
    as_of = as_of or now.replace(microsecond=0)
    values: dict[str, Any] = {
        "status": status, "level": level, "kospi": 2650.12, "kospi_change_pct": 0.84, "kosdaq": 871.05,
        "kosdaq_change_pct": -0.37, "components": COMPONENTS, "session": "open",
        "trading_date": timezone.localdate(as_of), "as_of": as_of, "computed_at": computed_at or now,
    }
    if any(f.name == "slot" for f in MarketGate._meta.fields):
        values["slot"] = values["computed_at"]  # one row per schedule period
    values.update(extra)
    return MarketGate.objects.create(**values)


def ticker(i: int) -> str:
    return f"{100000 + i:06d}"


def make_signals(count: int, day: date | None = None) -> list[Signal]:
    day = day or timezone.localdate()
    grades = "SABC"
    rows = [
        Signal(
            ticker=ticker(i), name=f"종목{i:03d}", market="KOSPI" if i % 2 == 0 else "KOSDAQ",
            score=95 - (i % 50), grade=grades[i % 4], entry_price=50_000 + 100 * i,
            target_price=55_000 + 110 * i, stop_loss=47_000 + 90 * i, position_size=0 if i % 7 == 6 else 10 + i,
            reasons=["Trend Template 8/8", f"{2 + i % 3} contractions 22%->11%->4%"], signal_date=day,
        )
        for i in range(count)
    ]
    # A signal is of a listed instrument (its price topic exists only then).
    Instrument.objects.bulk_create(
        [Instrument(ticker=s.ticker, name=s.name, market=s.market) for s in rows], ignore_conflicts=True
    )
    return Signal.objects.bulk_create(rows)


def gate_frame(level: int, status: str, *, stale: bool = False, computed_at: datetime | None = None,
               session: str = "open") -> dict[str, Any]:
    """A market_gate_update published straight to the topic (no row behind it)."""
    computed = timezone.localtime(computed_at or timezone.now())
    return {
        "type": "market_gate_update", "topic": "market-gate", "timestamp": computed.isoformat(),
        "data": {
            "status": status, "level": level, "kospi": 2600.0, "kospi_change_pct": -1.2, "kosdaq": 850.0,
            "kosdaq_change_pct": 0.0, "sectors": [], "components": COMPONENTS, "as_of": computed.isoformat(),
            "stale": stale, "session": session, "trading_date": computed.date().isoformat(), "source": "demo",
        },
    }


def price_frame(code: str, price: int, prev_close: int = 75_000) -> dict[str, Any]:
    now = timezone.localtime().isoformat()
    change = price - prev_close
    return {
        "type": "price_update", "topic": f"price:{code}", "ticker": code,
        "data": {"price": price, "change": change, "change_rate": round(change / prev_close * 100, 2),
                 "volume": 1_000_000, "bid_price": price - 100, "ask_price": price, "as_of": now},
        "timestamp": now, "source": "demo",
    }


def publish_price(code: str, price: int, prev_close: int = 75_000) -> None:
    publish(f"price:{code}", price_frame(code, price, prev_close))


@dataclass
class Watched:
    """A page with its console errors and WebSocket traffic recorded."""

    page: Any
    errors: list[str] = field(default_factory=list)
    sockets: list[Any] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def attach(self) -> Watched:
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("websocket", self._socket)
        return self

    def _socket(self, ws: Any) -> None:
        self.sockets.append(ws)
        ws.on("framesent", lambda payload: self.sent.append(_json(payload)))
        ws.on("framereceived", lambda payload: self.received.append(_json(payload)))

    def script_errors(self) -> list[str]:
        """Console errors other than the browser's own note that a socket could not connect
        (Chromium logs it itself when the server is down; scripts cannot silence it)."""
        return [e for e in self.errors if not ("WebSocket connection to" in e and "failed" in e)]

    def wait_subscribed(self, topic: str, timeout: float = 10.0, after: int = 0) -> None:
        self.wait_for(lambda: any(f.get("type") == "subscribed" and f.get("topic") == topic
                                  for f in self.received[after:]), timeout, f"subscribed {topic}")

    def wait_for(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            self.page.wait_for_timeout(50)  # lets Playwright deliver events meanwhile
        raise AssertionError(f"timed out waiting for {what}")


def _json(payload: Any) -> dict[str, Any]:
    try:
        value = json.loads(payload)
        return value if isinstance(value, dict) else {}
    except (TypeError, ValueError):
        return {}


def open_page(browser: Any, server: Proc, *, viewport: dict[str, int] | None = None, locale: str = "ko-KR",
              watchlist: list[str] | None = None, init_script: str = "") -> Watched:
    context = browser.new_context(viewport=viewport or DESKTOP, locale=locale, timezone_id="Asia/Seoul")
    if watchlist is not None:
        context.add_init_script(f"localStorage.setItem('stockgate.watchlist', {json.dumps(json.dumps(watchlist))});")
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.set_default_navigation_timeout(90_000)  # a fresh server on a loaded machine
    watched = Watched(page).attach()
    page.goto(f"http://127.0.0.1:{server.port}/")
    return watched


def base_url(server: Proc) -> str:
    return f"http://127.0.0.1:{server.port}/"


def one_minute_ago() -> datetime:
    return timezone.now() - timedelta(minutes=1)
