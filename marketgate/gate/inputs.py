"""Plain-data inputs of the Market Gate. Pure: no Django, no pandas.

None and NaN both mean "unknown"; the gate never lets a NaN reach a number it reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Literal

import numpy as np

GateStatus = Literal["GREEN", "YELLOW", "RED"]


def as_float_array(values: Sequence[float | None] | np.ndarray | None, length: int) -> np.ndarray:
    """float64 copy with NaN for every None; all-NaN when the series is absent."""
    if values is None:
        return np.full(length, np.nan)
    out = np.array([np.nan if v is None else v for v in values], dtype=float) if not isinstance(
        values, np.ndarray
    ) else values.astype(float, copy=True)
    if out.shape != (length,):
        raise ValueError(f"expected {length} values, got {out.shape}")
    return out


def known(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _check_dates(dates: tuple[date, ...], what: str) -> None:
    for a, b in pairwise(dates):
        if not a < b:
            raise ValueError(f"{what} dates must be strictly increasing ({a} then {b})")


@dataclass(frozen=True, eq=False)
class IndexHistory:
    """Daily bars of one index, oldest first. volume may hold None/NaN (unknown)."""

    name: str  # "KOSPI" or "KOSDAQ"
    dates: tuple[date, ...]
    close: Sequence[float | None] | np.ndarray
    volume: Sequence[float | None] | np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dates", tuple(self.dates))
        n = len(self.dates)
        object.__setattr__(self, "close", as_float_array(self.close, n))
        object.__setattr__(self, "volume", as_float_array(self.volume, n))
        _check_dates(self.dates, self.name)


@dataclass(frozen=True, eq=False)
class BreadthHistory:
    """Daily breadth of one market, oldest first; any value may be None (unknown).

    pct_above_ma50 is a percentage (0-100) of the market's common stocks.
    """

    dates: tuple[date, ...]
    advances: Sequence[float | None] | np.ndarray | None = None
    declines: Sequence[float | None] | np.ndarray | None = None
    new_highs: Sequence[float | None] | np.ndarray | None = None
    new_lows: Sequence[float | None] | np.ndarray | None = None
    pct_above_ma50: Sequence[float | None] | np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dates", tuple(self.dates))
        n = len(self.dates)
        for name in ("advances", "declines", "new_highs", "new_lows", "pct_above_ma50"):
            object.__setattr__(self, name, as_float_array(getattr(self, name), n))
        _check_dates(self.dates, "breadth")


@dataclass(frozen=True)
class LiveIndex:
    """The index during the session: its value is the provisional close of the gate date.

    cumulative_volume is today's volume so far (None when the feed has none);
    elapsed_fraction is the share of the session gone (calendar.elapsed_fraction).
    """

    value: float
    cumulative_volume: float | None
    as_of: datetime
    elapsed_fraction: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.elapsed_fraction <= 1.0:
            raise ValueError("elapsed_fraction must be within 0..1")


@dataclass(frozen=True)
class PreviousGate:
    """What the last computation left for hysteresis (GateResult.as_previous())."""

    status: GateStatus
    level: int | None = None
    pending_status: GateStatus | None = None
    pending_count: int = 0
