"""A small synthetic market in the database: Instruments and DailyBars around the
textbook VCP of tests/scanner_fixtures.py, for scans that go through the DB."""

from __future__ import annotations

from datetime import date

import pandas as pd

from marketgate.models import DailyBar, Instrument
from tests import scanner_fixtures as fx

AS_OF: date = fx.AS_OF
NAMES = {"VCP001": "한국정밀기계", "VCP002": "코스닥바이오텍"}


def store_market(*stocks: pd.DataFrame, weak: int = 3, strong: int = 0, markets: dict[str, str] | None = None) -> date:
    """Save the stocks plus RS fillers; returns the last session (the scan date)."""
    bars, instruments = fx.universe(*stocks, weak=weak, strong=strong)
    markets = markets or {}
    Instrument.objects.bulk_create(
        [
            Instrument(ticker=t, name=NAMES.get(t, f"종목 {t}"), market=markets.get(t, "KOSPI"), kind="common")
            for t in instruments["ticker"]
        ]
    )
    DailyBar.objects.bulk_create(
        [
            DailyBar(
                instrument_id=r.ticker, date=r.date.date(), open=r.open, high=r.high, low=r.low, close=r.close,
                volume=int(r.volume),
            )
            for r in bars.itertuples(index=False)
        ],
        batch_size=5_000,
    )
    return AS_OF


def vcp_market(kosdaq_vcp: bool = False) -> date:
    """The textbook VCP on KOSPI (and a second, half-priced one on KOSDAQ)."""
    stocks = [fx.vcp_stock("VCP001")]
    if kosdaq_vcp:
        stocks.append(fx.vcp_stock("VCP002", scale=0.5))
    return store_market(*stocks, markets={"VCP002": "KOSDAQ"})
