"""What became of a signal: its fate decided by the daily bars after the signal date.

Pure (numpy only), shared by the daily outcome task and the walk-forward backtest so
both read a signal the same way. The rules, session by session after the signal date:

* **Fill**: within the buy window (the first `buy_window` sessions after the signal
  date) the first bar whose high reaches the entry fills the buy stop: at the entry, or
  at the open when the bar opens above it (a gap up pays the open, not the entry).
  No fill within the window: **expired**. Fewer sessions seen so far: **pending**.
* **Stop**: a held bar whose low reaches the stop exits at the stop; a bar that opens
  at or below it exits at the open (a gap through the stop is not filled at the stop).
* **Target**: a held bar whose high reaches the target exits at the target, or at the
  open when it opens above it.
* **Same-bar tie**: a bar whose range holds both the stop and the target exits at the
  stop: the daily bar does not say which came first, and the cautious reading wins.
  The fill bar counts too: a bar that fills and falls to the stop is stopped out.
* Still held after the last bar: **open**, marked to market at the last close.

Prices are in the shares of the signal date: entry, stop and target are that day's traded
prices, so a later bar on or after a split's ex-date is re-expressed in those shares
(`in_shares_of`: a 2:1 split's halved prices are doubled back) and is not read as a stop.

R multiples are in units of the planned risk per share (entry - stop), the unit the
position size was computed from. MFE / MAE are the best and worst prices reached while
held, as R from the fill; the exit bar counts only its exit price (after a stop the
bar's high was not experienced, after a target its low need not have been).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from signals.scanner.panel import clean_bar_mask

PENDING = "pending"
EXPIRED = "expired"
OPEN = "open"
TARGET = "target"
STOP = "stop"
FINAL_STATUSES = (EXPIRED, TARGET, STOP)
STATUSES = (PENDING, EXPIRED, OPEN, TARGET, STOP)
DEFAULT_BUY_WINDOW = 5


@dataclass(frozen=True)
class Bars:
    """Clean daily bars of one ticker after the signal date, oldest first."""

    dates: np.ndarray  # datetime64[D]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def __len__(self) -> int:
        return len(self.dates)


@dataclass(frozen=True)
class Outcome:
    status: str
    sessions_seen: int
    fill_date: date | None = None
    fill_price: float | None = None
    exit_date: date | None = None
    exit_price: float | None = None
    gap: bool = False  # the exit was at a gapping open
    last_date: date | None = None
    last_close: float | None = None
    r_multiple: float | None = None  # at the exit, or marked to market while open
    mfe_r: float | None = None
    mae_r: float | None = None
    days_held: int | None = None  # sessions from the fill to the exit (or the last bar)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def filled(self) -> bool:
        return self.fill_date is not None


def _day(value: np.datetime64) -> date:
    return value.astype("datetime64[D]").item()


def resolve(entry: float, stop: float, target: float, bars: Bars, *, buy_window: int = DEFAULT_BUY_WINDOW) -> Outcome:
    """The signal's outcome after `bars` (the clean bars after its signal date)."""
    if not stop < entry < target:
        raise ValueError(f"need stop < entry < target, got stop {stop}, entry {entry}, target {target}")
    if buy_window < 1:
        raise ValueError(f"buy_window must be at least 1 session, not {buy_window}")
    n = len(bars)
    last = {"last_date": _day(bars.dates[-1]), "last_close": float(bars.close[-1])} if n else {}
    window = min(buy_window, n)
    hits = np.flatnonzero(bars.high[:window] >= entry)
    if len(hits) == 0:
        status = EXPIRED if n >= buy_window else PENDING
        return Outcome(status, n, **last)

    i = int(hits[0])
    fill = float(max(entry, bars.open[i]))
    risk = float(entry - stop)
    best, worst = fill, fill
    for k in range(i, n):
        o, h, lo = float(bars.open[k]), float(bars.high[k]), float(bars.low[k])
        exit_price: float | None = None
        status, gap = STOP, False
        if lo <= stop:
            # A gap through the stop exits at the open; on the fill bar the open was below
            # the entry before the fill, so there the stop itself is the exit.
            gap = k > i and o <= stop
            exit_price = o if gap else float(stop)
        elif h >= target:
            status, gap = TARGET, o >= target
            exit_price = o if gap else float(target)
        if exit_price is not None:
            best, worst = max(best, exit_price), min(worst, exit_price)
            return Outcome(
                status, n,
                fill_date=_day(bars.dates[i]), fill_price=fill,
                exit_date=_day(bars.dates[k]), exit_price=exit_price, gap=gap,
                r_multiple=(exit_price - fill) / risk, mfe_r=(best - fill) / risk, mae_r=(worst - fill) / risk,
                days_held=k - i, **last,
            )
        best, worst = max(best, h), min(worst, lo)
    mark = float(bars.close[-1])
    return Outcome(
        OPEN, n, fill_date=_day(bars.dates[i]), fill_price=fill,
        r_multiple=(mark - fill) / risk, mfe_r=(best - fill) / risk, mae_r=(worst - fill) / risk,
        days_held=n - 1 - i, **last,
    )


def bars_from_rows(rows: list[tuple[date, float, float, float, float]]) -> Bars:
    """Bars from (date, open, high, low, close) rows, oldest first."""
    if not rows:
        empty = np.array([], dtype=float)
        return Bars(np.array([], dtype="datetime64[D]"), empty, empty, empty, empty)
    dates, o, h, lo, c = zip(*rows, strict=True)
    return Bars(
        np.array(dates, dtype="datetime64[D]"),
        np.asarray(o, dtype=float), np.asarray(h, dtype=float), np.asarray(lo, dtype=float), np.asarray(c, dtype=float),
    )


def bars_by_ticker(frame: pd.DataFrame) -> dict[str, Bars]:
    """Clean bars per ticker, oldest first, from a long frame (ticker, date, o, h, l, c...)."""
    if frame.empty:
        return {}
    frame = frame.loc[clean_bar_mask(frame)].sort_values(["ticker", "date"], kind="stable")
    out: dict[str, Bars] = {}
    for ticker, rows in frame.groupby("ticker", sort=False):
        out[str(ticker)] = Bars(
            rows["date"].to_numpy(dtype="datetime64[D]"),
            rows["open"].to_numpy(dtype=float), rows["high"].to_numpy(dtype=float),
            rows["low"].to_numpy(dtype=float), rows["close"].to_numpy(dtype=float),
        )
    return out


def after(bars: Bars | None, day: date, until: date | None = None) -> Bars:
    """The bars strictly after `day` (and up to `until`)."""
    if bars is None:
        return Bars(*(np.array([], dtype=d) for d in ("datetime64[D]", float, float, float, float)))
    start = int(np.searchsorted(bars.dates, np.datetime64(day, "D"), side="right"))
    stop = len(bars) if until is None else int(np.searchsorted(bars.dates, np.datetime64(until, "D"), side="right"))
    return Bars(bars.dates[start:stop], bars.open[start:stop], bars.high[start:stop], bars.low[start:stop],
                bars.close[start:stop])


# Corporate actions of one ticker: ex-dates (datetime64[D], ascending) and their factors
# (marketgate.data.corporate_actions: what prices before the ex-date are divided by).
Actions = tuple[np.ndarray, np.ndarray]


def actions_by_ticker(factors: pd.DataFrame | None) -> dict[str, Actions]:
    """Per ticker, its ex-dates and factors from a FACTOR_COLUMNS frame."""
    if factors is None or factors.empty:
        return {}
    frame = factors.assign(ticker=factors["ticker"].astype(str),
                           ex_date=pd.to_datetime(factors["ex_date"]).to_numpy().astype("datetime64[D]"))
    out: dict[str, Actions] = {}
    for ticker, rows in frame.sort_values("ex_date", kind="stable").groupby("ticker", sort=False):
        out[str(ticker)] = (rows["ex_date"].to_numpy(dtype="datetime64[D]"), rows["factor"].to_numpy(dtype=float))
    return out


def share_multiplier(dates: np.ndarray, day: date, actions: Actions | None) -> np.ndarray:
    """Per date of `dates` (all after `day`): what its raw price is multiplied by to be in
    the shares of `day`, the product of the factors with day < ex-date <= that date."""
    out = np.ones(len(dates))
    if actions is None:
        return out
    ex_dates, factors = actions
    later = ex_dates > np.datetime64(day, "D")
    if not later.any():
        return out
    steps = np.append(1.0, np.cumprod(factors[later]))
    return steps[np.searchsorted(ex_dates[later], dates, side="right")]


def in_shares_of(bars: Bars, day: date, actions: Actions | None) -> Bars:
    """`bars` (after `day`) with prices in the shares of `day`."""
    mult = share_multiplier(bars.dates, day, actions)
    if (mult == 1.0).all():
        return bars
    return Bars(bars.dates, bars.open * mult, bars.high * mult, bars.low * mult, bars.close * mult)


def outcome_bars(bars: Bars | None, day: date, actions: Actions | None = None, until: date | None = None) -> Bars:
    """What a signal of `day` is resolved on: the clean bars after it, in its shares."""
    return in_shares_of(after(bars, day, until), day, actions)
