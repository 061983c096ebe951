"""KRX tick sizes (since 2023-01-25). Every price the system publishes is on this grid.

`grid_ticks` also knows the tables before the 2023-01-25 reform (KOSPI and KOSDAQ had
different ones) and the ETF grid, for checking historical bars.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

# (upper bound exclusive, tick)
TICK_TABLE: tuple[tuple[float, int], ...] = (
    (2_000, 1),
    (5_000, 5),
    (20_000, 10),
    (50_000, 50),
    (200_000, 100),
    (500_000, 500),
    (math.inf, 1_000),
)
_BOUNDS = np.array([b for b, _ in TICK_TABLE[:-1]], dtype=float)
_TICKS = np.array([t for _, t in TICK_TABLE], dtype=float)


def tick_size(price: float) -> int:
    for bound, tick in TICK_TABLE:
        if price < bound:
            return tick
    return TICK_TABLE[-1][1]


def tick_sizes(prices: np.ndarray) -> np.ndarray:
    """Vectorised tick_size."""
    return _TICKS[np.searchsorted(_BOUNDS, prices, side="right")]


def floor_to_tick(price: float) -> int:
    tick = tick_size(price)
    return int(math.floor(price / tick + 1e-9) * tick)


def ceil_to_tick(price: float) -> int:
    tick = tick_size(price)
    up = int(math.ceil(price / tick - 1e-9) * tick)
    # Crossing a band boundary can change the tick; re-check on the new band.
    return up if up % tick_size(up) == 0 else ceil_to_tick(up)


def round_to_tick(price: float) -> int:
    down = floor_to_tick(price)
    up = ceil_to_tick(price)
    return up if (up - price) < (price - down) else down


def tick_up(price: int, ticks: int = 1) -> int:
    """The price `ticks` ticks above an on-grid price."""
    for _ in range(ticks):
        price = int(price + tick_size(price))
    return price


def tick_down(price: int, ticks: int = 1) -> int:
    for _ in range(ticks):
        price = int(price - tick_size(price - 1))
    return price


def is_on_tick(price: float) -> bool:
    return float(price).is_integer() and int(price) % tick_size(price) == 0


# The unified table above took effect on this date; before it each market had its own.
UNIFIED_SINCE = date(2023, 1, 25)
_OLD_KOSPI = ((1_000, 1), (5_000, 5), (10_000, 10), (50_000, 50), (100_000, 100), (500_000, 500), (math.inf, 1_000))
_OLD_KOSDAQ = ((1_000, 1), (5_000, 5), (10_000, 10), (50_000, 50), (math.inf, 100))
# ETFs: 5 won at any price before the reform; 1 won below 2,000 since.
_ETF = ((2_000, 1), (math.inf, 5))
_OLD_ETF = ((math.inf, 5),)


def _ticks_of(table: tuple[tuple[float, int], ...], prices: np.ndarray) -> np.ndarray:
    bounds = np.array([b for b, _ in table[:-1]], dtype=float)
    ticks = np.array([t for _, t in table], dtype=float)
    return ticks[np.searchsorted(bounds, prices, side="right")]


def grid_ticks(prices: np.ndarray, days: pd.Series, market: pd.Series, etf: pd.Series) -> np.ndarray:
    """The tick of each price on its date's grid: the unified table from UNIFIED_SINCE,
    before it KOSPI's table, or KOSDAQ's (also KONEX and an unknown market: its grid is
    the finer one, so nothing on a real grid is called off it); ETFs on their own grid.

    `prices` may be (rows, columns): several prices of each row at once."""
    prices = np.asarray(prices, dtype=float)
    unified = (pd.to_datetime(days) >= pd.Timestamp(UNIFIED_SINCE)).to_numpy()
    kospi = np.asarray(market, dtype=object) == "KOSPI"
    is_etf = pd.Series(etf).fillna(False).astype(bool).to_numpy()
    # Each table only on its own rows (a whole file is nearly all one grid).
    tables = ((is_etf & unified, _ETF), (is_etf & ~unified, _OLD_ETF), (~is_etf & unified, TICK_TABLE),
              (~is_etf & ~unified & kospi, _OLD_KOSPI), (~is_etf & ~unified & ~kospi, _OLD_KOSDAQ))
    ticks = np.empty(prices.shape, dtype=float)
    for rows, table in tables:
        if rows.all():
            return _ticks_of(table, prices)
        if rows.any():
            ticks[rows] = _ticks_of(table, prices[rows])
    return ticks


def off_grid(prices: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """Prices that are not a whole multiple of their tick (zeros count as on the grid)."""
    prices = np.asarray(prices, dtype=float)
    return np.abs(prices - np.round(prices / ticks) * ticks) > 1e-6
