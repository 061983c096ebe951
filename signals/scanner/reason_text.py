"""Signal reasons: stored as codes with parameters, rendered in Korean or English. Pure.

A reason is `{"code": "...", "params": {...}}`; the same row renders in either language,
so a language switch never needs a rescan. Texts written before reasons had codes are
plain strings and render as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Reason = dict[str, Any]
LANGUAGES = ("ko", "en")


def reason(code: str, **params: Any) -> Reason:
    return {"code": code, "params": params}


def _depths(p: dict[str, Any]) -> str:
    return "->".join(f"{d:.0f}%" for d in p["depths"])


def _pivot_en(p: dict[str, Any]) -> str:
    distance, pivot = p["distance_pct"], p["pivot"]
    if abs(distance) < 0.05:
        return f"At pivot {pivot:,}"
    if distance < 0:
        return f"{-distance:.1f}% below pivot {pivot:,}"
    return f"{distance:.1f}% above pivot {pivot:,} (buy zone)"


def _pivot_ko(p: dict[str, Any]) -> str:
    distance, pivot = p["distance_pct"], p["pivot"]
    if abs(distance) < 0.05:
        return f"피벗 {pivot:,}원 도달"
    if distance < 0:
        return f"피벗 {pivot:,}원 아래 {-distance:.1f}%"
    return f"피벗 {pivot:,}원 위 {distance:.1f}% (매수 구간)"


def _trend_en(p: dict[str, Any]) -> str:
    text = f"Trend Template {p['met']}/{p['total']}"
    return text + (f" (RS >= {p['relaxed_rs']}, one grade lower)" if p.get("relaxed_rs") else "")


def _trend_ko(p: dict[str, Any]) -> str:
    text = f"트렌드 템플릿 {p['met']}/{p['total']}"
    return text + (f" (RS {p['relaxed_rs']} 이상으로 통과, 한 등급 낮춤)" if p.get("relaxed_rs") else "")


_GATE_EN = {
    "RED": "Gate RED: watch only",
    "YELLOW": "Gate YELLOW: capped at B, half size",
    "UNKNOWN": "Gate unknown: treated as YELLOW, capped at B, half size",
}
_GATE_KO = {
    "RED": "게이트 빨강: 관망 (수량 0)",
    "YELLOW": "게이트 노랑: 최고 B등급, 수량 절반",
    "UNKNOWN": "게이트 정보 없음: 노랑으로 보고 최고 B등급, 수량 절반",
}

TEMPLATES: dict[str, dict[str, Callable[[dict[str, Any]], str]]] = {
    "trend_template": {"en": _trend_en, "ko": _trend_ko},
    "rs": {"en": lambda p: f"RS {p['rs']}", "ko": lambda p: f"상대강도 RS {p['rs']}"},
    "contractions": {
        "en": lambda p: f"{p['count']} contractions " + _depths(p),
        "ko": lambda p: f"수축 {p['count']}회 " + _depths(p),
    },
    "volume_dry_up": {
        "en": lambda p: f"Volume 10d/50d {p['ratio']:.2f} (dry-up)",
        "ko": lambda p: f"거래량 10일/50일 {p['ratio']:.2f} (거래량 감소)",
    },
    "volume_falling": {
        "en": lambda p: "Volume falling with each contraction",
        "ko": lambda p: "수축할 때마다 거래량 감소",
    },
    "pivot": {"en": _pivot_en, "ko": _pivot_ko},
    "stop": {
        "en": lambda p: f"Stop {p['stop']:,} (-{p['pct']:.1f}%)",
        "ko": lambda p: f"손절 {p['stop']:,}원 (-{p['pct']:.1f}%)",
    },
    "target": {
        "en": lambda p: f"Target {p['target']:,} ({p['basis']})",
        "ko": lambda p: f"목표 {p['target']:,}원 ({p['basis']})",
    },
    "gate_cap": {"en": lambda p: _GATE_EN[p["status"]], "ko": lambda p: _GATE_KO[p["status"]]},
}


def render(item: Reason | str, lang: str = "ko") -> str:
    """One reason in `lang` (ko unless en); a plain string is shown as it is."""
    if isinstance(item, str):
        return item
    try:
        template = TEMPLATES[item["code"]]
        return template.get(lang, template["ko"])(item.get("params") or {})
    except (KeyError, TypeError, ValueError, IndexError):
        # A code this version does not know (or broken params): show what is there.
        return str(item.get("code", item)) if isinstance(item, dict) else str(item)


def render_all(items: Sequence[Reason | str], lang: str = "ko") -> list[str]:
    return [render(item, lang) for item in items]
