"""Entry, stop, target on the KRX tick grid, and the position size that risks a fixed
fraction of equity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from marketgate.tick_size import ceil_to_tick, floor_to_tick, tick_down, tick_up
from signals.scanner.params import ScanParams


@dataclass(frozen=True)
class TradePlan:
    pivot: int  # the last contraction's high, on the grid
    entry: int
    stop: int
    target: int
    target_basis: str  # "+3R" or "+20%": which rule set the target

    @property
    def risk_per_share(self) -> int:
        return self.entry - self.stop

    @property
    def stop_pct(self) -> float:
        return (self.entry - self.stop) / self.entry


def plan_trade(pivot_high: float, last_low: float, params: ScanParams) -> TradePlan | str:
    """The trade plan, or the reason there is none.

    Adjusted prices need not sit on the grid, so the pivot is first rounded up to it:
    a buy stop below the real high would trigger inside the base.
    """
    pivot = ceil_to_tick(pivot_high)
    entry = tick_up(pivot)
    below_low = tick_down(floor_to_tick(last_low))
    floor = ceil_to_tick(entry * (1.0 - params.stop_floor_pct))
    stop = max(below_low, floor)
    if stop >= entry or stop <= 0:
        return f"No room for a stop below entry {entry:,}"
    if (entry - stop) / entry > params.max_stop_pct:
        return f"Stop {stop:,} wider than {params.max_stop_pct:.0%}"
    by_r = entry + params.target_r_multiple * (entry - stop)
    by_pct = entry * (1.0 + params.target_min_pct)
    basis = f"+{params.target_r_multiple:g}R" if by_r >= by_pct else f"+{params.target_min_pct:.0%}"
    return TradePlan(pivot=pivot, entry=entry, stop=stop, target=ceil_to_tick(max(by_r, by_pct)), target_basis=basis)


def position_size(entry: int, stop: int, params: ScanParams) -> int:
    """Shares risking `risk_fraction` of equity to the stop, capped at `max_position_fraction` of equity."""
    if entry <= 0 or stop >= entry:
        return 0
    by_risk = math.floor(params.equity * params.risk_fraction / (entry - stop))
    by_cap = math.floor(params.equity * params.max_position_fraction / entry)
    return max(0, min(by_risk, by_cap))
