"""The Market Gate: a 0-100 market-regime level and its colour. Pure: no Django.

Each index (KOSPI, KOSDAQ) is scored on its own from five components (trend,
distribution, breadth, new highs - new lows, drawdown), rescaled over the components
whose inputs are known, capped/floored by the correction/follow-through overrides, then
the indices are combined by weight. Hysteresis keeps the colour from flickering around
a threshold. docs/market-gate.md explains every rule and default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from marketgate.gate.components import (
    Component,
    ComponentDict,
    Series,
    count_distribution_days,
    prepare_series,
    score_breadth,
    score_distribution,
    score_drawdown,
    score_new_highs_lows,
    score_trend,
)
from marketgate.gate.inputs import (
    BreadthHistory,
    GateStatus,
    IndexHistory,
    LiveIndex,
    PreviousGate,
)
from marketgate.gate.overrides import Override, evaluate_overrides
from marketgate.gate.params import DEFAULT_PARAMS, GateParams
from marketgate.gate.reason_text import render

__all__ = [
    "BreadthHistory", "GateParams", "GateResult", "GateStatus", "IndexHistory", "IndexSummary",
    "LiveIndex", "OverrideLine", "PreviousGate", "apply_hysteresis", "compute_gate", "status_for",
]

_RANK: dict[str, int] = {"RED": 0, "YELLOW": 1, "GREEN": 2}
_BY_RANK: tuple[GateStatus, ...] = ("RED", "YELLOW", "GREEN")


@dataclass(frozen=True)
class IndexSummary:
    name: str
    date: date  # date of the last close used (today's while the session runs)
    close: float
    change_pct: float | None  # 0.0 stays 0.0; None = unknown
    level: float | None  # after overrides, before combining; None = nothing known
    provisional: bool
    correction: bool
    follow_through: bool
    distribution_days: int | None


@dataclass(frozen=True)
class OverrideLine:
    """Why the level was capped or floored: an index's override (market set) or the
    GREEN cap (market ""), as a reason code and its parameters (reason_text)."""

    market: str
    code: str
    params: dict[str, Any]

    def reason(self, lang: str = "en") -> str:
        return render(self.code, self.params, lang)

    def to_component(self) -> ComponentDict:
        """A zero-point row of the wire `components` list, stored with its code so a
        stored row renders in either language (MarketGate.to_data)."""
        return {"name": "override", "points": 0, "max": 0, "known": True, "market": self.market,
                "reason": self.reason("en"), "reason_ko": self.reason("ko"),
                "reason_code": self.code, "reason_params": self.params}


@dataclass(frozen=True)
class GateResult:
    status: GateStatus  # after hysteresis
    level: int  # 0-100
    raw_status: GateStatus  # the colour of `level` alone
    components: tuple[ComponentDict, ...]
    indices: dict[str, IndexSummary]
    correction: bool
    follow_through: bool
    provisional: bool
    overrides: tuple[OverrideLine, ...]  # each index's correction cap or follow-through floor
    as_of_date: date
    raw_level: float
    pending_status: GateStatus | None = None
    pending_count: int = 0
    hysteresis_reason: str = ""
    cap: OverrideLine | None = None  # why the level may not reach GREEN (None = it may)

    @property
    def override_reason(self) -> str:
        """Every override line and the GREEN cap, one a line (English)."""
        return "\n".join(line.reason("en") for line in self._lines())

    @property
    def override_reason_ko(self) -> str:
        return "\n".join(line.reason("ko") for line in self._lines())

    @property
    def cap_reason(self) -> str:
        return self.cap.reason("en") if self.cap else ""

    @property
    def cap_reason_ko(self) -> str:
        return self.cap.reason("ko") if self.cap else ""

    def _lines(self) -> tuple[OverrideLine, ...]:
        return self.overrides + ((self.cap,) if self.cap else ())

    @property
    def flags(self) -> dict[str, bool]:
        return {"correction": self.correction, "follow_through": self.follow_through,
                "provisional": self.provisional}

    def index(self, name: str) -> IndexSummary | None:
        return self.indices.get(name)

    def as_previous(self) -> PreviousGate:
        """Feed this into the next computation's `previous`."""
        return PreviousGate(self.status, self.level, self.pending_status, self.pending_count)

    def to_components_json(self) -> list[ComponentDict]:
        """The wire `components` list; an applied override is added as a zero-point row
        so the dashboard can show why the level was capped or floored."""
        rows = [dict(c) for c in self.components]
        rows += [line.to_component() for line in self._lines()]
        return rows  # type: ignore[return-value]


def status_for(level: float, params: GateParams = DEFAULT_PARAMS) -> GateStatus:
    if level >= params.threshold_green:
        return "GREEN"
    if level >= params.threshold_yellow:
        return "YELLOW"
    return "RED"


@dataclass(frozen=True)
class _IndexScore:
    summary: IndexSummary
    components: list[Component] = field(default_factory=list)
    override: Override = field(default_factory=Override)
    # The level that enters the combination: a correction's cap is applied to the
    # combined level instead (one index in correction must not be averaged away).
    combine_level: float | None = None

    @property
    def capped(self) -> bool:
        return self.override.correction and not self.override.follow_through


def _score_index(s: Series, breadth: BreadthHistory | None, as_of_date: date, p: GateParams) -> _IndexScore:
    dd = count_distribution_days(s, p)
    components = [
        score_trend(s, p),
        score_distribution(s, dd, p),
        score_breadth(s, breadth, as_of_date, p),
        score_new_highs_lows(s, breadth, as_of_date, p),
        score_drawdown(s, p),
    ]
    # Rescale over what is known, using the rounded points the dashboard shows.
    got = [c.to_dict() for c in components if c.known]
    maximum = sum(float(c["max"]) for c in got)
    level: float | None = None
    combine_level: float | None = None
    override = Override()
    if maximum > 0:
        level = 100.0 * sum(float(c["points"] or 0) for c in got) / maximum
        override = evaluate_overrides(s, dd, p)
        if override.follow_through and not override.correction and level >= p.ftd_floor:
            override = Override()  # a floor that lifts nothing is not reported
        combine_level = level if override.correction and not override.follow_through else override.apply(level, p)
        level = override.apply(level, p)
    change = None
    if len(s) >= 2 and s.close[-2] > 0:
        change = round((float(s.close[-1]) / float(s.close[-2]) - 1.0) * 100.0, 2)
        change = 0.0 if change == 0 else change  # never -0.0
    summary = IndexSummary(
        name=s.market, date=s.dates[-1], close=float(s.close[-1]), change_pct=change, level=level,
        provisional=s.provisional, correction=override.correction, follow_through=override.follow_through,
        distribution_days=dd.count,
    )
    return _IndexScore(summary, components, override, combine_level)


@dataclass(frozen=True)
class _Cap:
    level: float
    code: str
    params: dict[str, Any]

    @property
    def reason(self) -> str:
        return render(self.code, self.params, "en")

    @property
    def line(self) -> OverrideLine:
        return OverrideLine("", self.code, self.params)


def _green_cap(scores: list[_IndexScore], p: GateParams) -> _Cap | None:
    """YELLOW at most when the level rests on too little: a component GREEN needs
    (trend, drawdown) is unknown for an index in the level, or less than
    green_min_known_share of the points are known."""
    counted = [sc for sc in scores if sc.combine_level is not None and p.weight(sc.summary.name) > 0]
    missing = [[sc.summary.name, c.name] for sc in counted for c in sc.components
               if c.name in p.green_requires and not c.known]
    total = sum(p.weight(sc.summary.name) * sum(c.max for c in sc.components) for sc in counted)
    known_max = sum(p.weight(sc.summary.name) * sum(c.max for c in sc.components if c.known) for sc in counted)
    share = known_max / total if total else 0.0
    ceiling = math.ceil(p.threshold_green) - 1
    if missing:
        return _Cap(ceiling, "green_cap_unknown", {"missing": missing, "ceiling": ceiling})
    if share < p.green_min_known_share:
        return _Cap(ceiling, "green_cap_share",
                    {"share": round(share, 4), "need": p.green_min_known_share, "ceiling": ceiling})
    return None


def _round_level(level: float) -> int:
    return int(min(max(math.floor(level + 0.5), 0), 100))  # half up, not to even


def apply_hysteresis(raw_level: int, previous: PreviousGate | None,
                     params: GateParams = DEFAULT_PARAMS) -> tuple[GateStatus, GateStatus | None, int, str]:
    """(status, pending_status, pending_count, reason) for `raw_level` after `previous`.

    Moving one colour at a time from the previous one, a threshold counts as crossed
    when the level is >= hysteresis_points past it; a colour that is not reached that
    way is pending and wins once it has been the raw colour for
    hysteresis_consecutive computations in a row.
    """
    raw = status_for(raw_level, params)
    if previous is None or previous.status not in _RANK:
        return raw, None, 0, ""
    current, target = _RANK[previous.status], _RANK[raw]
    if current == target:
        return raw, None, 0, ""
    thresholds = {1: params.threshold_yellow, 2: params.threshold_green}  # entry level of a rank
    h = params.hysteresis_points
    step = 1 if target > current else -1
    while current != target:
        nxt = current + step
        # Going up, the threshold is the next colour's entry; going down, this colour's.
        threshold = thresholds[nxt] if step > 0 else thresholds[current]
        margin = raw_level - threshold if step > 0 else threshold - raw_level
        if margin < h:
            break
        current = nxt
    if current == target:
        return raw, None, 0, f"{raw}: level {raw_level} is {h:g}+ points past the threshold"
    pending, pending_count = previous.pending_status, previous.pending_count
    if pending is None and previous.level is not None and status_for(previous.level, params) != previous.status:
        # A stored row keeps only status and level: a level whose own colour differs from
        # the status was a held change, pending once (exact for the default of 2).
        pending, pending_count = status_for(previous.level, params), 1
    count = pending_count + 1 if pending == raw else 1
    if count >= params.hysteresis_consecutive:
        return raw, None, 0, f"{raw}: {count} computations in a row"
    held = _BY_RANK[current]
    return held, raw, count, f"{held} held: level {raw_level} is within {h:g} points of the threshold ({raw} pending {count}/{params.hysteresis_consecutive})"


def compute_gate(
    kospi: IndexHistory | None,
    kosdaq: IndexHistory | None,
    breadth: dict[str, BreadthHistory] | None = None,
    *,
    as_of_date: date,
    live: dict[str, LiveIndex] | None = None,
    previous: PreviousGate | None = None,
    params: GateParams = DEFAULT_PARAMS,
) -> GateResult | None:
    """The gate on `as_of_date`, or None when no index has any usable data.

    `live[name]` is that index during the session; its value is the provisional close of
    `as_of_date` (it replaces a bar already stored for that date).
    """
    breadth = breadth or {}
    live = live or {}
    scores: list[_IndexScore] = []
    for history in (kospi, kosdaq):
        if history is None:
            continue
        s = prepare_series(history, as_of_date, live.get(history.name), params)
        if s is not None:
            scores.append(_score_index(s, breadth.get(history.name), as_of_date, params))
    weighted = [(params.weight(sc.summary.name), sc.combine_level) for sc in scores
                if sc.combine_level is not None and params.weight(sc.summary.name) > 0]
    total_weight = sum(w for w, _ in weighted)
    if not weighted or total_weight <= 0:
        return None
    raw_level = sum(w * lvl for w, lvl in weighted) / total_weight  # type: ignore[operator]
    if any(sc.capped for sc in scores):
        raw_level = min(raw_level, params.correction_cap)
    green_cap = _green_cap(scores, params)
    if green_cap is not None:
        raw_level = min(raw_level, green_cap.level)
    level = _round_level(raw_level)
    status, pending, count, why = apply_hysteresis(level, previous, params)
    if green_cap is not None and status == "GREEN":
        status, why = "YELLOW", green_cap.reason  # hysteresis must not hold a colour the data cannot back
    overrides = [sc.override for sc in scores if sc.override.code]
    lines = tuple(OverrideLine(sc.summary.name, sc.override.code, sc.override.params)
                  for sc in scores if sc.override.code)
    return GateResult(
        status=status,
        level=level,
        raw_status=status_for(level, params),
        components=tuple(c.to_dict() for sc in scores for c in sc.components),
        indices={sc.summary.name: sc.summary for sc in scores},
        correction=any(o.correction for o in overrides),
        follow_through=any(o.follow_through for o in overrides),
        provisional=any(sc.summary.provisional for sc in scores),
        overrides=lines,
        cap=green_cap.line if green_cap else None,
        as_of_date=as_of_date,
        raw_level=raw_level,
        pending_status=pending,
        pending_count=count,
        hysteresis_reason=why,
    )
