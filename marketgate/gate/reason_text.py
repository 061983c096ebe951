"""Gate component reasons from their stored form (a code and its parameters) to text.

A gate row stores each component's `reason_code` and `reason_params` (the override
rows too: correction cap, follow-through floor, GREEN cap); Korean and English are both
rendered from them, so a row reads in either language and a wording fix applies to old
rows too. Rows stored before codes keep their stored text. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Params = dict[str, Any]
LANGUAGES = ("ko", "en")


def _num(value: float, digits: int = 0, sign: bool = False) -> str:
    return f"{value:{'+' if sign else ''},.{digits}f}"


def _trend(p: Params, lang: str) -> str:
    above, below, order = p["above"], p["below"], p["order"]
    if lang == "en":
        parts = ([("above " + "/".join(f"MA{w}" for w in above))] if above else []) + \
                ([("below " + "/".join(f"MA{w}" for w in below))] if below else [])
        chain = ">".join(f"MA{w}" for w in order)
        parts.append(chain if p["stacked"] else f"not {chain}")
    else:
        parts = ([("·".join(str(w) for w in above) + "일선 위")] if above else []) + \
                ([("·".join(str(w) for w in below) + "일선 아래")] if below else [])
        parts.append("정배열" if p["stacked"] else "정배열 아님")
    return f"{p['market']} " + ", ".join(parts)


def _trend_unknown(p: Params, lang: str) -> str:
    if lang == "en":
        return f"{p['market']} trend unknown: {p['have']} of {p['need']} sessions"
    return f"{p['market']} 추세 알 수 없음: {p['have']}/{p['need']}거래일"


def _distribution(p: Params, lang: str) -> str:
    m, count, window, unknown = p["market"], p["count"], p["window"], p["unknown_days"]
    if lang == "en":
        text = f"{m} {count} distribution days in {window} sessions"
        text += " (today provisional)" if p["today_provisional"] else ""
        return text + (f"; {unknown} down days without volume" if unknown else "")
    text = f"{m} 최근 {window}거래일 분산일 {count}일"
    text += " (오늘 잠정)" if p["today_provisional"] else ""
    return text + (f"; 거래량 없는 하락일 {unknown}일" if unknown else "")


def _distribution_unknown(p: Params, lang: str) -> str:
    why = p["why"]
    if lang == "en":
        detail = {"sessions": f"{p.get('have')} of {p.get('need')} sessions", "no_volume": "no volume data",
                  "unknown_days": f"{p.get('unknown_days')} down days without volume"}[why]
        return f"{p['market']} distribution days unknown: {detail}"
    detail = {"sessions": f"{p.get('have')}/{p.get('need')}거래일", "no_volume": "거래량 없음",
              "unknown_days": f"거래량 없는 하락일 {p.get('unknown_days')}일"}[why]
    return f"{p['market']} 분산일 알 수 없음: {detail}"


def _breadth_parts(p: Params, lang: str) -> list[str]:
    parts = []
    ma50, ad = p.get("ma50"), p.get("ad")
    if ma50:
        score = f"({ma50['got']}/{ma50['max']})"
        parts.append(f"{ma50['pct']:.0f}% of stocks above MA50 {score}" if lang == "en"
                     else f"50일선 위 종목 {ma50['pct']:.0f}% {score}")
    else:
        parts.append("% above MA50 unknown" if lang == "en" else "50일선 위 종목 비율 알 수 없음")
    if ad:
        score = f"({ad['got']}/{ad['max']})"
        parts.append(f"A/D EMA{ad['span']} {ad['ema']:.2f} {score}" if lang == "en"
                     else f"상승비율 EMA{ad['span']} {ad['ema']:.2f} {score}")
    else:
        parts.append("A/D unknown" if lang == "en" else "상승/하락 비율 알 수 없음")
    return parts


def _breadth(p: Params, lang: str) -> str:
    return f"{p['market']} " + ", ".join(_breadth_parts(p, lang))


def _breadth_unknown(p: Params, lang: str) -> str:
    if p.get("no_data"):
        detail = "no data" if lang == "en" else "데이터 없음"
    else:
        detail = ", ".join(_breadth_parts(p, lang))
    return f"{p['market']} breadth unknown: {detail}" if lang == "en" else f"{p['market']} 시장폭 알 수 없음: {detail}"


def _nhnl(p: Params, lang: str) -> str:
    m, w, net, highs, lows = p["market"], p["window"], p["net"], p["highs"], p["lows"]
    if lang == "en":
        return f"{m} {w}-session NH-NL {_num(net, sign=True)} (NH {_num(highs)}, NL {_num(lows)})"
    return f"{m} {w}일 신고가-신저가 {_num(net, sign=True)} (신고가 {_num(highs)}, 신저가 {_num(lows)})"


def _nhnl_unknown(p: Params, lang: str) -> str:
    m = p["market"]
    if p["why"] == "no_data":
        return f"{m} new highs/lows unknown: no data" if lang == "en" else f"{m} 신고가/신저가 알 수 없음: 데이터 없음"
    w = p["window"]
    return (f"{m} new highs/lows unknown: fewer than {w} recent sessions" if lang == "en"
            else f"{m} 신고가/신저가 알 수 없음: 최근 {w}거래일 미만")


def _drawdown(p: Params, lang: str) -> str:
    m, pct, sessions, high = p["market"], p["pct"], p["sessions"], _num(p["high"], 2)
    if lang == "en":
        return f"{m} {pct:+.1f}% from the {sessions}-session high {high}"
    return f"{m} {sessions}거래일 고점 {high} 대비 {pct:+.1f}%"


def _drawdown_unknown(p: Params, lang: str) -> str:
    if lang == "en":
        return f"{p['market']} drawdown unknown: {p['have']} of {p['need']} sessions"
    return f"{p['market']} 고점 대비 하락률 알 수 없음: {p['have']}/{p['need']}거래일"


def _in_correction(p: Params, lang: str) -> str:
    m, ma, dd = p["market"], p["ma"], p["distribution_days"]
    return (f"{m} in correction (below MA{ma}, {dd} distribution days)" if lang == "en"
            else f"{m} 조정장 ({ma}일선 아래, 분산일 {dd}일)")


def _correction(p: Params, lang: str) -> str:
    cap = f"{p['cap']:g}"
    return _in_correction(p, lang) + (f": level capped at {cap}" if lang == "en" else f": 레벨 상한 {cap}")


def _follow_through(p: Params, lang: str) -> str:
    floor, day = f"{p['floor']:g}", p["date"]
    if lang == "en":
        why = _in_correction(p, lang) if p["correction"] else f"{p['market']} rally after a correction"
        return f"{why}; follow-through day {day}{' (provisional)' if p['provisional'] else ''}: floor {floor}"
    why = _in_correction(p, lang) if p["correction"] else f"{p['market']} 조정 후 반등"
    return f"{why}; 팔로스루 데이 {day}{' (잠정)' if p['provisional'] else ''}: 하한 {floor}"


# Component names in the GREEN-cap line (the dashboard's labels in Korean).
_COMPONENT_KO = {"trend": "추세", "distribution": "분산일", "breadth": "시장폭",
                 "new_highs_lows": "신고가-신저가", "drawdown": "고점 대비 하락"}


def _green_cap_unknown(p: Params, lang: str) -> str:
    ceiling = p["ceiling"]
    if lang == "en":
        missing = ", ".join(f"{market} {name}" for market, name in p["missing"])
        return f"GREEN needs {missing} known: level capped at {ceiling}"
    missing = ", ".join(f"{market} {_COMPONENT_KO.get(name, name)}" for market, name in p["missing"])
    return f"GREEN 불가 ({missing} 알 수 없음): 레벨 상한 {ceiling}"


def _green_cap_share(p: Params, lang: str) -> str:
    share, need, ceiling = p["share"], p["need"], p["ceiling"]
    if lang == "en":
        return f"only {share:.0%} of the points known (GREEN needs {need:.0%}): level capped at {ceiling}"
    return f"점수의 {share:.0%}만 확인됨 (GREEN은 {need:.0%} 필요): 레벨 상한 {ceiling}"


RENDERERS: dict[str, Callable[[Params, str], str]] = {
    "trend": _trend, "trend_unknown": _trend_unknown,
    "distribution": _distribution, "distribution_unknown": _distribution_unknown,
    "breadth": _breadth, "breadth_unknown": _breadth_unknown,
    "new_highs_lows": _nhnl, "new_highs_lows_unknown": _nhnl_unknown,
    "drawdown": _drawdown, "drawdown_unknown": _drawdown_unknown,
    # The override rows: an index's correction cap or follow-through floor, and the
    # cap that keeps the level below GREEN when too little is known.
    "correction": _correction, "follow_through": _follow_through,
    "green_cap_unknown": _green_cap_unknown, "green_cap_share": _green_cap_share,
}


def render(code: str, params: Params, lang: str = "ko") -> str:
    """The reason in `lang` ("ko" or "en"); KeyError for a code this version does not know."""
    return RENDERERS[code](params, "en" if lang == "en" else "ko")


def render_component(component: dict[str, Any]) -> dict[str, Any]:
    """A stored component with `reason` and `reason_ko` rendered from its code; rows
    stored before codes existed (text only) are returned as they are."""
    code, params = component.get("reason_code"), component.get("reason_params")
    if not code or not isinstance(params, dict) or code not in RENDERERS:
        return component
    try:
        return {**component, "reason": render(code, params, "en"), "reason_ko": render(code, params, "ko")}
    except (KeyError, TypeError, ValueError):
        return component  # a damaged row keeps the text it was stored with
