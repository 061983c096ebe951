"""KRX tick sizes (since 2023-01-25). Every price the system publishes is on this grid."""

from __future__ import annotations

import math

import numpy as np

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
