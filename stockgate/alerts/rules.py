"""What a rule may ask for, checked the same way from the API and from admin."""

from __future__ import annotations

from typing import Any

from stockgate.alerts.models import EventKind

GRADES = ("S", "A", "B", "C")
DIRECTIONS = ("above", "below", "both")
# The final outcomes a trader acts on (signals.models.OutcomeStatus values).
OUTCOMES = ("target", "stop")


def clean_rule(event: str, params: dict[str, Any]) -> dict[str, Any]:
    """The rule's parameters, normalised; ValueError naming what is wrong."""
    if not isinstance(params, dict):
        raise ValueError("a rule's parameters must be an object")
    if event == EventKind.GATE_COLOUR:
        _no_extra(params, set())
        return {}
    if event == EventKind.SIGNAL_GRADE:
        _no_extra(params, {"min_grade"})
        grade = str(params.get("min_grade", "S")).upper()
        if grade not in GRADES:
            raise ValueError(f"min_grade must be one of {', '.join(GRADES)}, not {params.get('min_grade')!r}")
        return {"min_grade": grade}
    if event == EventKind.PRICE_CROSS:
        _no_extra(params, {"ticker", "level", "direction"})
        ticker = params.get("ticker")
        if not isinstance(ticker, str) or not (len(ticker) == 6 and ticker.isalnum()):
            raise ValueError(f"ticker must be a 6-character KRX code such as '005930', not {ticker!r}")
        level = params.get("level")
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1e9:
            raise ValueError(f"level must be a positive price in won, not {level!r}")
        direction = params.get("direction", "both")
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        return {"ticker": ticker.upper(), "level": level, "direction": direction}
    if event == EventKind.SIGNAL_OUTCOME:
        _no_extra(params, {"outcomes", "min_grade"})
        outcomes = params.get("outcomes", list(OUTCOMES))
        if (not isinstance(outcomes, list) or not outcomes
                or any(not isinstance(o, str) or o not in OUTCOMES for o in outcomes)):
            raise ValueError(f"outcomes must be a non-empty list of {', '.join(OUTCOMES)}, not {outcomes!r}")
        grade = str(params.get("min_grade", "C")).upper()
        if grade not in GRADES:
            raise ValueError(f"min_grade must be one of {', '.join(GRADES)}, not {params.get('min_grade')!r}")
        return {"outcomes": sorted(set(outcomes), key=OUTCOMES.index), "min_grade": grade}
    raise ValueError(f"event must be one of {', '.join(v for v in EventKind.values if v != 'test')}, not {event!r}")


def _no_extra(params: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(params) - allowed)
    if extra:
        raise ValueError(f"unknown field(s) {', '.join(extra)}")
