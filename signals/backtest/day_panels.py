"""Every session's scan panel, cut from one build: the backtest's speed.

`build_panel` (panel.py) turns the long bars up to a day into right-aligned matrices:
per ticker its last `rows` clean bars. Doing that from scratch for each of 250 sessions
re-hashes and re-sorts a million rows 250 times. Here the clean bars are sorted once
into left-aligned per-ticker columns; the panel of a session is then a gather: for each
ticker, its clean bars dated within [window start, day], the last `rows` of them.

`at(day, start)` equals `build_panel(bars with start <= date <= day, as_of=day, rows)`
field for field (tests/test_panel_history.py checks it on bars with halts, late
listings and delistings), so the scan rules see what a `scan --date` of that day sees.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from signals.scanner.panel import Panel, clean_bar_mask

FIELDS = ("high", "low", "close", "volume", "traded_value")


class PanelHistory:
    def __init__(self, bars: pd.DataFrame, rows: int) -> None:
        self.rows = rows
        keep = clean_bar_mask(bars)
        kept = bars.loc[keep]
        codes, tickers = pd.factorize(kept["ticker"].astype(str).to_numpy(), sort=True)
        day_values = pd.to_datetime(kept["date"]).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        date_codes, dates = pd.factorize(day_values, sort=True)
        self.tickers = np.asarray(tickers, dtype=object)
        self.dates = np.asarray(dates, dtype="datetime64[D]")
        key = codes.astype(np.int64) * max(len(self.dates), 1) + date_codes
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        order = order[np.append(sorted_key[1:] != sorted_key[:-1], True)[: len(order)]]  # a repeat: last wins
        codes, date_codes = codes[order], date_codes[order]

        values = {name: kept[name].to_numpy(dtype=float, na_value=np.nan)[order] for name in ("close", "high", "low",
                                                                                               "volume")}
        if "traded_value" in kept.columns:
            value = kept["traded_value"].to_numpy(dtype=float, na_value=np.nan)[order]
            values["traded_value"] = np.where(np.isfinite(value), value, values["close"] * values["volume"])
        else:
            values["traded_value"] = values["close"] * values["volume"]

        counts = np.bincount(codes, minlength=len(self.tickers))
        starts = np.cumsum(counts) - counts
        position = np.arange(len(codes)) - starts[codes]
        depth = int(counts.max()) if len(counts) else 0
        self._columns = {}
        for name in FIELDS:
            matrix = np.full((depth, len(self.tickers)), np.nan)
            matrix[position, codes] = values[name]
            self._columns[name] = matrix
        # Date codes per ticker, oldest first; padding sorts after every real date.
        self._date_codes = np.full((depth, len(self.tickers)), np.iinfo(np.int64).max, dtype=np.int64)
        self._date_codes[position, codes] = date_codes

    def at(self, day: date, start: date) -> Panel:
        rows = self.rows
        hi = int(np.searchsorted(self.dates, np.datetime64(day, "D"), side="right"))
        lo = int(np.searchsorted(self.dates, np.datetime64(start, "D"), side="left"))
        upto = (self._date_codes < hi).sum(axis=0)  # clean bars on or before the day, per ticker
        before = (self._date_codes < lo).sum(axis=0)
        available = upto - before
        present = np.flatnonzero(available > 0)
        take = np.minimum(available[present], rows)
        r = np.arange(rows)[:, None]
        source = upto[present][None, :] - rows + r  # row in the left-aligned columns
        valid = r >= rows - take[None, :]
        safe = np.where(valid, source, 0)
        cols = np.broadcast_to(present[None, :], safe.shape)

        def gather(matrix: np.ndarray, fill: float) -> np.ndarray:
            return np.where(valid, matrix[safe, cols], fill)

        date_index = np.where(valid, self._date_codes[safe, cols] - lo, -1).astype(np.int64)
        dates = self.dates[lo:hi]
        last_date = dates[date_index[-1]] if len(present) else np.array([], dtype="datetime64[D]")
        return Panel(
            tickers=self.tickers[present],
            dates=dates,
            high=gather(self._columns["high"], np.nan),
            low=gather(self._columns["low"], np.nan),
            close=gather(self._columns["close"], np.nan),
            volume=gather(self._columns["volume"], np.nan),
            traded_value=gather(self._columns["traded_value"], np.nan),
            date_index=date_index,
            sessions=take,
            last_date=last_date,
        )
