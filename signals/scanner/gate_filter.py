"""The Market Gate as a risk filter on scan results.

YELLOW caps grades at B and halves the size; RED makes every signal watch-only (size 0).
An unknown gate (no gate row yet) is treated as YELLOW: sizing a full position on a
market nobody has measured is the risk the gate exists to prevent, and the reason says so.
"""

from __future__ import annotations

import dataclasses

from signals.scanner.reason_text import reason, render
from signals.scanner.results import SignalCandidate

CAPPED_GRADES = {"S": "B", "A": "B"}


def apply_gate_cap(candidates: list[SignalCandidate], gate_status: str | None) -> list[SignalCandidate]:
    status = (gate_status or "").strip().upper()
    if status == "GREEN":
        return list(candidates)
    if status == "RED":
        return [_capped(c, c.grade, 0, "RED") for c in candidates]
    cap = "YELLOW" if status == "YELLOW" else "UNKNOWN"
    return [_capped(c, CAPPED_GRADES.get(c.grade, c.grade), c.position_size // 2, cap) for c in candidates]


def _capped(candidate: SignalCandidate, grade: str, size: int, cap: str) -> SignalCandidate:
    code = reason("gate_cap", status=cap)
    return dataclasses.replace(
        candidate, grade=grade, position_size=size, reasons=[*candidate.reasons, render(code, "en")],
        reason_codes=[*candidate.reason_codes, code],
    )
