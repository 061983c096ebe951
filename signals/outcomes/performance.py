"""The dashboard's "성과 / Performance" panel: how the live signals have done.

* open signals (filled, neither target nor stop yet) with R marked at the latest quote
  (the last close when no quote is newer);
* signals closed (target or stop) in the last 60 sessions, newest first;
* win rate and average R by grade over those closed signals;
* the Market Gate by day for the last year: each session's final row (the latest
  computed for that trading date), with KOSPI's close.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from marketgate.models import DailyBar, MarketGate, Quote
from signals.models import Grade, OutcomeStatus, SignalOutcome

CLOSED_SESSIONS = 60
GATE_HISTORY_DAYS = 365


def _live_r(outcome: SignalOutcome, quote: Quote | None) -> tuple[float | None, float | None, str | None]:
    """(price, R, its time) at the quote when it is newer than the last close."""
    signal = outcome.signal
    risk = signal.entry_price - signal.stop_loss
    if outcome.fill_price is None or risk <= 0:
        return None, None, None
    if quote is not None and (outcome.last_date is None or timezone.localdate(quote.as_of) > outcome.last_date):
        price, at = float(quote.price), timezone.localtime(quote.as_of).isoformat()
    elif outcome.last_close is not None:
        price, at = outcome.last_close, outcome.last_date.isoformat() if outcome.last_date else None
    else:
        return None, None, None
    return price, round((price - outcome.fill_price) / risk, 2), at


def _row(outcome: SignalOutcome) -> dict[str, Any]:
    signal = outcome.signal
    return {
        "ticker": signal.ticker,
        "name": signal.name,
        "market": signal.market,
        "grade": signal.grade,
        "signal_date": signal.signal_date.isoformat(),
        "entry_price": signal.entry_price,
        "stop_loss": signal.stop_loss,
        "target_price": signal.target_price,
        "position_size": signal.position_size,
        **outcome.to_message(),
    }


def closed_since() -> date | None:
    """The first of the last CLOSED_SESSIONS bar dates (None: no bars)."""
    days = list(DailyBar.objects.order_by("-date").values_list("date", flat=True).distinct()[:CLOSED_SESSIONS])
    return days[-1] if days else None


def gate_days(today: date) -> list[dict[str, Any]]:
    rows = (MarketGate.objects.filter(trading_date__gt=today - timedelta(days=GATE_HISTORY_DAYS))
            .order_by("trading_date", "computed_at", "id").values_list("trading_date", "level", "status", "kospi"))
    by_day: dict[date, dict[str, Any]] = {}
    for day, level, status, kospi in rows:  # the latest row of each day wins
        by_day[day] = {"date": day.isoformat(), "level": level, "status": status, "kospi": kospi}
    return list(by_day.values())


def performance(now: Any = None) -> dict[str, Any]:
    now = now or timezone.now()
    outcomes = SignalOutcome.objects.select_related("signal")
    held = list(outcomes.filter(status=OutcomeStatus.OPEN).order_by("-signal__signal_date", "signal__ticker"))
    quotes = {q.ticker: q for q in Quote.objects.filter(ticker__in=[o.signal.ticker for o in held])}
    open_rows = []
    for outcome in held:
        price, r, at = _live_r(outcome, quotes.get(outcome.signal.ticker))
        open_rows.append({**_row(outcome), "price": price, "live_r": r, "price_as_of": at})

    since = closed_since()
    closed = list(
        outcomes.filter(status__in=[OutcomeStatus.TARGET, OutcomeStatus.STOP], exit_date__gte=since)
        .order_by("-exit_date", "signal__ticker")
    ) if since else []
    by_grade = {}
    for grade in Grade.values:
        rs = [o.r_multiple for o in closed if o.signal.grade == grade and o.r_multiple is not None]
        by_grade[grade] = {
            "closed": len(rs),
            "wins": sum(1 for r in rs if r > 0),
            "win_rate": round(sum(1 for r in rs if r > 0) / len(rs), 3) if rs else None,
            "avg_r": round(sum(rs) / len(rs), 2) if rs else None,
        }
    return {
        "as_of": timezone.localtime(now).isoformat(),
        "closed_since": since.isoformat() if since else None,
        "closed_sessions": CLOSED_SESSIONS,
        "open": open_rows,
        "closed": [_row(o) for o in closed],
        "by_grade": by_grade,
        "gate_history": gate_days(timezone.localdate(now)),
    }
