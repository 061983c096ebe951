"""Alert texts, Korean or English per destination. Won as 75,000원 in both."""

from __future__ import annotations

from typing import Any

COLOURS = {
    "ko": {"GREEN": "초록", "YELLOW": "노랑", "RED": "빨강"},
    "en": {"GREEN": "GREEN", "YELLOW": "YELLOW", "RED": "RED"},
}


def won(value: int | float) -> str:
    return f"{round(value):,}원"


def gate_text(lang: str, data: dict[str, Any]) -> str:
    names = COLOURS.get(lang, COLOURS["ko"])
    before, after = names.get(data["previous"], data["previous"]), names.get(data["status"], data["status"])
    if lang == "en":
        return f"Market Gate {before} → {after} (level {data['level']}, {data['as_of']})"
    return f"마켓 게이트 {before} → {after} (레벨 {data['level']}, {data['as_of']})"


def signal_text(lang: str, data: dict[str, Any]) -> str:
    prices = f"{won(data['entry_price'])} / {won(data['target_price'])} / {won(data['stop_loss'])}"
    if lang == "en":
        return (f"New VCP signal, grade {data['grade']}: {data['name']} ({data['ticker']}) score {data['score']}/100; "
                f"entry / target / stop {prices}")
    return (f"새 VCP 신호 {data['grade']}등급: {data['name']}({data['ticker']}) 점수 {data['score']}/100, "
            f"진입 / 목표 / 손절 {prices}")


def price_text(lang: str, data: dict[str, Any]) -> str:
    if lang == "en":
        way = "above" if data["side"] == "above" else "below"
        return f"{data['ticker']} {won(data['price'])} crossed {way} {won(data['level'])} ({data['as_of']})"
    way = "상향 돌파" if data["side"] == "above" else "하향 돌파"
    return f"{data['ticker']} {won(data['price'])}: {won(data['level'])} {way} ({data['as_of']})"


def outcome_text(lang: str, data: dict[str, Any]) -> str:
    exit_price, r = won(data["exit_price"]), f"{data['r_multiple']:+.2f}R" if data.get("r_multiple") is not None else ""
    gap = data.get("gap")
    if lang == "en":
        what = "hit its target" if data["status"] == "target" else "was stopped out"
        return (f"VCP signal {data['name']} ({data['ticker']}, {data['signal_date']}, grade {data['grade']}) {what} "
                f"on {data['exit_date']} at {exit_price}{' (gap at the open)' if gap else ''} {r}").rstrip()
    what = "목표가 도달" if data["status"] == "target" else "손절"
    return (f"VCP 신호 {what}: {data['name']}({data['ticker']}, {data['signal_date']} {data['grade']}등급) "
            f"{data['exit_date']} {exit_price}{' (시가 갭)' if gap else ''} {r}").rstrip()


def test_text(lang: str, data: dict[str, Any]) -> str:
    if lang == "en":
        return f"stockgate test message for \u201c{data['name']}\u201d: alerts reach this destination."
    return f"stockgate 테스트 메시지 (\u201c{data['name']}\u201d): 이 대상으로 알림이 전달됩니다."


RENDER = {"gate_colour": gate_text, "signal_grade": signal_text, "price_cross": price_text,
          "signal_outcome": outcome_text, "test": test_text}


def render(event: str, lang: str, data: dict[str, Any]) -> str:
    return RENDER[event](lang if lang in ("ko", "en") else "ko", data)
