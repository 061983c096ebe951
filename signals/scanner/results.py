"""What a scan returns: plain values, ready to be saved as Signal rows or sent as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict


class ContractionFootprint(TypedDict):
    start: str  # ISO date of the swing high
    end: str  # ISO date of the swing low
    high: float
    low: float
    depth_pct: float


class Footprint(TypedDict):
    base_length: int
    base_start: str
    depths: list[float]  # percent, oldest first
    pivot: int
    contractions: list[ContractionFootprint]
    volume_ratio: float
    volume_falling: bool
    rs: int
    trend_template: int  # criteria met, of 8
    zigzag_threshold_pct: float
    score_parts: dict[str, float]


# A trade setup's identity and plan, named alike in the scanner's results, the Signal
# rows and the wire (protocol.md's signal_update rows).
PLAN_FIELDS = ("ticker", "name", "market", "signal_type", "score", "grade",
               "entry_price", "target_price", "stop_loss", "position_size")


@dataclass(frozen=True)
class SignalCandidate:
    ticker: str
    name: str
    market: str
    score: int
    grade: str
    entry_price: int
    target_price: int
    stop_loss: int
    position_size: int
    reasons: list[str]  # English, for the scanner's own output
    footprint: Footprint
    signal_type: str = "VCP"
    # The same reasons as codes with parameters: what is stored and rendered per language.
    reason_codes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **{name: getattr(self, name) for name in PLAN_FIELDS},
            "reasons": list(self.reasons),
            "reason_codes": list(self.reason_codes),
            "footprint": dict(self.footprint),
        }


@dataclass(frozen=True)
class ScanResult:
    candidates: list[SignalCandidate]
    universe_count: int
    trend_template_count: int
    rejections: dict[str, str] = field(default_factory=dict)  # ticker -> first failing rule
    stats: dict[str, Any] = field(default_factory=dict)
    trend_template_tickers: tuple[str, ...] = ()  # every ticker that passed, candidate or not

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidates": [c.to_dict() for c in self.candidates],
            "universe_count": self.universe_count,
            "trend_template_count": self.trend_template_count,
            "rejections": dict(self.rejections),
            "stats": dict(self.stats),
        }
