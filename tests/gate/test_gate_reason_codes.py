"""Gate component reasons are stored as a code and parameters and rendered in Korean and
English from that one row: a stored row reads in either language, a row stored before
codes existed keeps its text, and a damaged code does not break the frame."""

from __future__ import annotations

import pytest

from marketgate.gate.formula import compute_gate
from marketgate.gate.reason_text import RENDERERS, render, render_component
from tests import factories
from tests.factories import LAST_DAY, correction, index


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
        "correction": {"market": "KOSDAQ", "ma": 120, "distribution_days": 6, "cap": 39},
        "follow_through": {"market": "KOSPI", "ma": 120, "distribution_days": 5, "correction": False,
                           "date": "2025-06-16", "provisional": True, "floor": 40},
        "green_cap_unknown": {"missing": [["KOSPI", "trend"], ["KOSPI", "drawdown"]], "ceiling": 69},
        "green_cap_share": {"share": 0.2, "need": 0.5, "ceiling": 69},
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
    assert texts["correction"] == ("KOSDAQ 조정장 (120일선 아래, 분산일 6일): 레벨 상한 39",
                                   "KOSDAQ in correction (below MA120, 6 distribution days): level capped at 39")
    assert texts["follow_through"] == ("KOSPI 조정 후 반등; 팔로스루 데이 2025-06-16 (잠정): 하한 40",
                                       "KOSPI rally after a correction; follow-through day 2025-06-16 (provisional): "
                                       "floor 40")
    assert texts["green_cap_unknown"] == ("GREEN 불가 (KOSPI 추세, KOSPI 고점 대비 하락 알 수 없음): 레벨 상한 69",
                                          "GREEN needs KOSPI trend, KOSPI drawdown known: level capped at 69")
    assert texts["green_cap_share"] == ("점수의 20%만 확인됨 (GREEN은 50% 필요): 레벨 상한 69",
                                        "only 20% of the points known (GREEN needs 50%): level capped at 69")
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


@pytest.mark.django_db
def test_override_and_green_cap_rows_are_stored_as_codes_and_read_in_either_language(client):
    short = [100.0 * 0.99 ** i for i in range(100)]  # too short for KOSDAQ's trend and drawdown
    result = compute_gate(index(*correction()), index(short, name="KOSDAQ"), {}, as_of_date=LAST_DAY)
    rows = [r for r in result.to_components_json() if r["name"] == "override"]
    assert [(r["market"], r["reason_code"]) for r in rows] == [("KOSPI", "correction"), ("", "green_cap_unknown")]
    # Stored with wording that is no longer current: the row is read from its code.
    stale = [{**r, "reason": "old wording", "reason_ko": "옛 문구"} for r in rows]
    gate = factories.gate(components=stale)
    gate.refresh_from_db()
    shown = [c for c in gate.to_data()["components"] if c["name"] == "override"]
    assert shown[0]["reason"] == "KOSPI in correction (below MA120, 13 distribution days): level capped at 39"
    assert shown[0]["reason_ko"] == "KOSPI 조정장 (120일선 아래, 분산일 13일): 레벨 상한 39"
    assert shown[1]["reason"] == "GREEN needs KOSDAQ trend, KOSDAQ drawdown known: level capped at 69"
    assert shown[1]["reason_ko"] == "GREEN 불가 (KOSDAQ 추세, KOSDAQ 고점 대비 하락 알 수 없음): 레벨 상한 69"
    assert all(c["points"] == 0 and c["max"] == 0 for c in shown)
    # The API sends the same rendered row.
    sent = [c for c in client.get("/api/market-gate").json()["data"]["components"] if c["name"] == "override"]
    assert sent == shown


@pytest.mark.django_db
def test_override_rows_stored_as_text_before_codes_keep_their_text():
    legacy = {"name": "override", "points": 0, "max": 0, "known": True, "market": "KOSDAQ",
              "reason": "KOSDAQ in correction (below MA120, 7 distribution days): level capped at 39",
              "reason_ko": "KOSDAQ 조정장 (120일선 아래, 분산일 7일): 레벨 상한 39"}
    cap = {"name": "override", "points": 0, "max": 0, "known": True, "market": "",
           "reason": "GREEN needs KOSPI trend known: level capped at 69",
           "reason_ko": "GREEN 불가 (KOSPI trend 알 수 없음): 레벨 상한 69"}
    gate = factories.gate(components=[legacy, cap])
    gate.refresh_from_db()
    assert gate.to_data()["components"] == [legacy, cap]
