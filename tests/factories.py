"""Rows for tests, built through the models (so post_save fires as in production)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils import timezone

from marketgate.models import MarketGate
from signals.models import Signal


def gate(**fields: Any) -> MarketGate:
    now = timezone.now()
    values: dict[str, Any] = {
        "status": "YELLOW",
        "level": 55,
        "kospi": 2650.12,
        "kospi_change_pct": 0.0,
        "kosdaq": 850.5,
        "kosdaq_change_pct": -0.4,
        "components": [{"name": "trend", "points": 15, "max": 30, "reason": "KOSPI above MA20"}],
        "sectors": [],
        "session": "open",
        "trading_date": timezone.localdate(now),
        "as_of": now,
        "computed_at": now,
    }
    values.update(fields)
    return MarketGate.objects.create(**values)


def signal(ticker: str = "005930", signal_date: date | None = None, **fields: Any) -> Signal:
    values: dict[str, Any] = {
        "ticker": ticker,
        "name": "삼성전자",
        "market": "KOSPI",
        "score": 86,
        "grade": "S",
        "entry_price": 75100,
        "target_price": 90200,
        "stop_loss": 69100,
        "position_size": 1666,
        "reasons": ["Trend Template 8/8"],
        "signal_date": signal_date or date(2026, 2, 3),
        "created_at": datetime(2026, 2, 3, 15, 45, tzinfo=timezone.get_current_timezone()),
    }
    values.update(fields)
    return Signal.objects.create(**values)
