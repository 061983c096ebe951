"""The signals' own demand for live prices: what the dashboard shows for every trader.

The feed registers these before any client's demand (marketgate/feeds/demand.py): the
latest scan's tickers by score, then the open positions, at most PRICE_SIGNAL_TICKERS.
"""

from __future__ import annotations

from django.conf import settings

from signals.models import OutcomeStatus, Signal


def signal_tickers() -> list[str]:
    latest = Signal.objects.latest_date()
    tickers: list[str] = []
    if latest is not None:
        tickers += Signal.objects.filter(signal_type="VCP", signal_date=latest).order_by("-score", "ticker") \
            .values_list("ticker", flat=True)
    tickers += Signal.objects.filter(outcome__status=OutcomeStatus.OPEN).order_by("-signal_date", "ticker") \
        .values_list("ticker", flat=True)
    return list(dict.fromkeys(tickers))[: max(0, settings.PRICE_SIGNAL_TICKERS)]
