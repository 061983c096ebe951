"""Signals with known outcomes, quotes and a year of daily gates, for the performance
panel's API and browser tests. Numbers chosen so every R is exact:
entry 50,000, stop 47,000 (risk 3,000 = 1R), fills at the entry."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from marketgate.calendar import KST
from marketgate.models import DailyBar, Instrument, MarketGate, Quote
from signals.models import Signal, SignalOutcome


def outcome_signal(ticker: str, grade: str, status: str, *, signal_date: date, today: date,
                   exit_date: date | None = None, exit_price: float | None = None, last_close: float | None = None,
                   gap: bool = False) -> Signal:
    Instrument.objects.get_or_create(ticker=ticker, defaults={"name": f"종목{ticker[-3:]}", "market": "KOSPI"})
    signal = Signal.objects.create(
        ticker=ticker, name=f"종목{ticker[-3:]}", market="KOSPI", score=80, grade=grade, entry_price=50_000,
        target_price=59_000, stop_loss=47_000, position_size=100, reasons=["Trend Template 8/8"],
        signal_date=signal_date,
    )
    filled = status in ("open", "target", "stop")
    mark = exit_price if exit_price is not None else last_close
    SignalOutcome.objects.create(
        signal=signal, status=status, sessions_seen=5, fill_date=signal_date + timedelta(days=1) if filled else None,
        fill_price=50_000 if filled else None, exit_date=exit_date, exit_price=exit_price, gap=gap,
        last_date=today - timedelta(days=1), last_close=last_close,
        r_multiple=None if mark is None or not filled else (mark - 50_000) / 3_000,
        mfe_r=0.5 if filled else None, mae_r=-0.2 if filled else None, days_held=3 if filled else None,
    )
    return signal


def performance_market(today: date | None = None) -> date:
    """Two open, three closed (A target, A stop through a gap, B stop), one pending; bars
    for 70 sessions so the 60-session window starts inside them; a year of daily gates.
    Dates count back from `today` (default: today in KST)."""
    today = today or timezone.localdate()
    Instrument.objects.create(ticker="000001", name="지수용", market="KOSPI")
    days = [today - timedelta(days=i) for i in range(100) if (today - timedelta(days=i)).weekday() < 5][:70]
    DailyBar.objects.bulk_create([DailyBar(instrument_id="000001", date=d, open=1, high=1, low=1, close=1, volume=1)
                                  for d in days])
    outcome_signal("200001", "A", "open", today=today, signal_date=today - timedelta(days=10), last_close=51_500)
    outcome_signal("200002", "B", "open", today=today, signal_date=today - timedelta(days=8), last_close=49_100)
    outcome_signal("200003", "A", "target", today=today, signal_date=today - timedelta(days=30),
                   exit_date=today - timedelta(days=20), exit_price=59_000)
    outcome_signal("200004", "A", "stop", today=today, signal_date=today - timedelta(days=25),
                   exit_date=today - timedelta(days=15), exit_price=45_500, gap=True)
    outcome_signal("200005", "B", "stop", today=today, signal_date=today - timedelta(days=12),
                   exit_date=today - timedelta(days=9), exit_price=47_000)
    outcome_signal("200006", "S", "stop", today=today, signal_date=today - timedelta(days=300),
                   exit_date=today - timedelta(days=280), exit_price=47_000)  # before the 60 sessions
    outcome_signal("200007", "C", "pending", today=today, signal_date=today - timedelta(days=1))
    Quote.objects.create(ticker="200001", price=52_400, as_of=timezone.now())  # newer than the last close
    gates = []
    for i, day in enumerate(d for d in (today - timedelta(days=k) for k in range(400, -1, -1)) if d.weekday() < 5):
        level = round(55 + 35 * math.sin(i / 18))  # regimes lasting weeks, every colour
        status = "GREEN" if level >= 70 else "YELLOW" if level >= 40 else "RED"
        close = datetime.combine(day, time(15, 30), KST)
        gates.append(MarketGate(status=status, level=level, kospi=round(2500 + 250 * math.sin(i / 40) + 1.5 * i, 2), trading_date=day, as_of=close,
                                computed_at=close, slot=close, session="closed"))
    MarketGate.objects.bulk_create(gates)
    return today
