"""Signal reasons: stored once as codes, rendered in Korean (default) and English."""

from __future__ import annotations

from datetime import date

import pytest

from signals.scanner.reason_text import TEMPLATES, reason, render, render_all
from tests import factories

SAMPLES = [
    reason("trend_template", met=7, total=8, relaxed_rs=80),
    reason("rs", rs=94),
    reason("contractions", count=3, depths=[22.4, 11.2, 4.0]),
    reason("volume_dry_up", ratio=0.4213),
    reason("volume_falling"),
    reason("pivot", pivot=47000, distance_pct=-1.2),
    reason("stop", stop=44200, pct=6.04),
    reason("target", target=56500, basis="+20%"),
    reason("gate_cap", status="UNKNOWN"),
]


def test_every_code_renders_in_both_languages():
    assert {r["code"] for r in SAMPLES} == set(TEMPLATES)
    assert render_all(SAMPLES, "en") == [
        "Trend Template 7/8 (RS >= 80, one grade lower)", "RS 94", "3 contractions 22%->11%->4%",
        "Volume 10d/50d 0.42 (dry-up)", "Volume falling with each contraction", "1.2% below pivot 47,000",
        "Stop 44,200 (-6.0%)", "Target 56,500 (+20%)", "Gate unknown: treated as YELLOW, capped at B, half size",
    ]
    assert render_all(SAMPLES, "ko") == [
        "트렌드 템플릿 7/8 (RS 80 이상으로 통과, 한 등급 낮춤)", "상대강도 RS 94", "수축 3회 22%->11%->4%",
        "거래량 10일/50일 0.42 (거래량 감소)", "수축할 때마다 거래량 감소", "피벗 47,000원 아래 1.2%",
        "손절 44,200원 (-6.0%)", "목표 56,500원 (+20%)", "게이트 정보 없음: 노랑으로 보고 최고 B등급, 수량 절반",
    ]


@pytest.mark.parametrize("item", ["plain text", {"code": "from_the_future", "params": {}}, {"code": "rs", "params": {}}])
def test_plain_texts_unknown_codes_and_broken_params_still_render(item):
    assert render(item, "ko") and render(item, "en")


@pytest.mark.django_db
def test_one_row_renders_in_korean_by_default_and_in_english():
    row = factories.signal(reasons=["Trend Template 8/8", "RS 94"],
                           reason_codes=[reason("trend_template", met=8, total=8, relaxed_rs=None), reason("rs", rs=94)],
                           signal_date=date(2026, 2, 3))
    message = row.to_message()
    assert message["reasons"] == ["트렌드 템플릿 8/8", "상대강도 RS 94"]
    assert message["reasons_en"] == ["Trend Template 8/8", "RS 94"]
    assert message["reason_codes"][1] == {"code": "rs", "params": {"rs": 94}}
    legacy = factories.signal("000660", reasons=["Trend Template 8/8"])  # a row from before the codes
    assert legacy.to_message()["reasons"] == legacy.to_message()["reasons_en"] == ["Trend Template 8/8"]
