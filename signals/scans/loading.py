"""Read the market the scanner needs out of the database in one pass.

Only the last `sessions` distinct bar dates up to the scan date are read: the scanner
looks at 300 clean sessions per ticker, and a few more dates leave room for halts.
The rows come from the bar cache (marketgate/data/bar_cache.py) when it can serve the
window, else straight from the database (marketgate/data/bar_reads.py).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from marketgate.data.bar_reads import BAR_COLUMNS, bar_window_start, select_bars
from marketgate.models import DailyBar, Instrument

__all__ = ["BAR_COLUMNS", "INSTRUMENT_COLUMNS", "bar_window_start", "latest_bar_date", "load_bars", "load_instruments"]

INSTRUMENT_COLUMNS = ["ticker", "name", "market", "kind"]


def latest_bar_date(as_of: date) -> date | None:
    return DailyBar.objects.filter(date__lte=as_of).order_by("-date").values_list("date", flat=True).first()


def load_bars(start: date, end: date) -> pd.DataFrame:
    """Every bar with start <= date <= end, as the long frame `scan()` takes (raw, as stored)."""
    return select_bars("date >= %s AND date <= %s", [start, end])


def load_instruments() -> pd.DataFrame:
    rows = list(Instrument.objects.values_list(*INSTRUMENT_COLUMNS))
    return pd.DataFrame(rows, columns=INSTRUMENT_COLUMNS)
