"""Gate component reasons are stored as a code and parameters and rendered in Korean and
English from that one row: a stored row reads in either language, a row stored before
codes existed keeps its text, and a damaged code does not break the frame."""

from __future__ import annotations

import pytest

from marketgate.gate.reason_text import RENDERERS, render, render_component
from tests import factories


def test_every_code_renders_in_both_languages_from_the_same_parameters():
    examples = {
        "trend": {"market": "KOSPI", "above": [20, 50], "below": [120], "stacked": False, "order": [20, 50, 120]},
        "trend_unknown": {"market": "KOSPI", "have": 80, "need": 120},
        "distribution": {"market": "KOSDAQ", "count": 4, "window": 25, "today_provisional": True, "unknown_days": 1},
        "distribution_unknown": {"market": "KOSDAQ", "why": "sessions", "have": 10, "need": 26, "unknown_days": 0},
        "breadth": {"market": "KOSPI", "ma50": {"pct": 61.4, "got": 7.1, "max": 10}, "ad": None},
        "breadth_unknown": {"market": "KOSPI", "no_data": True},
        "new_highs_lows": {"market": "KOSPI", "window": 10, "net": 123.0, "highs": 300.0, "lows": 177.0},
        "new_highs_lows_unknown": {"market": "KOSPI", "why": "short", "window": 10},
        "drawdown": {"market": "KOSPI", "pct": -7.26, "sessions": 252, "high": 2891.35},
        "drawdown_unknown": {"market": "KOSPI", "have": 30, "need": 60},
    }
    assert set(examples) == set(RENDERERS)
    texts = {code: (render(code, params, "ko"), render(code, params, "en")) for code, params in examples.items()}
    assert texts["trend"] == ("KOSPI 20·50일선 위, 120일선 아래, 정배열 아님",
                              "KOSPI above MA20/MA50, below MA120, not MA20>MA50>MA120")
    assert texts["distribution"][0] == "KOSDAQ 최근 25거래일 분산일 4일 (오늘 잠정); 거래량 없는 하락일 1일"
    # Too few sessions reads in Korean too (it used to carry the English detail).
    assert texts["distribution_unknown"][0] == "KOSDAQ 분산일 알 수 없음: 10/26거래일"
    assert texts["drawdown"] == ("KOSPI 252거래일 고점 2,891.35 대비 -7.3%", "KOSPI -7.3% from the 252-session high 2,891.35")
    assert texts["new_highs_lows"][1] == "KOSPI 10-session NH-NL +123 (NH 300, NL 177)"
    for code, (ko, en) in texts.items():
        assert ko and en and ko != en, code


@pytest.mark.django_db
def test_a_stored_row_renders_its_reasons_from_the_codes_not_the_stored_text():
    component = {"name": "trend", "points": 20, "max": 40, "known": True, "market": "KOSPI",
                 "reason": "an old English wording", "reason_ko": "옛 문구", "reason_code": "trend",
                 "reason_params": {"market": "KOSPI", "above": [20], "below": [50, 120], "stacked": False,
                                   "order": [20, 50, 120]}}
    legacy = {"name": "drawdown", "points": 10, "max": 20, "known": True, "market": "KOSPI",
              "reason": "KOSPI -3.0% from the 252-session high 2,700.00", "reason_ko": "KOSPI 고점 대비 -3.0%"}
    damaged = {**component, "reason_params": {"market": "KOSPI"}}
    gate = factories.gate(components=[component, legacy, damaged])
    gate.refresh_from_db()
    rows = gate.to_data()["components"]
    assert rows[0]["reason_ko"] == "KOSPI 20일선 위, 50·120일선 아래, 정배열 아님"
    assert rows[0]["reason"] == "KOSPI above MA20, below MA50/MA120, not MA20>MA50>MA120"
    assert rows[1] == legacy  # stored before codes: its own text
    assert rows[2]["reason"] == "an old English wording"  # a damaged code keeps the stored text


def test_render_component_leaves_unknown_codes_alone():
    row = {"reason": "x", "reason_ko": "엑스", "reason_code": "from-a-newer-version", "reason_params": {}}
    assert render_component(row) == row
