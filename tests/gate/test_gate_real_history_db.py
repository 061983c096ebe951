"""The real KRX index and breadth files, imported with the project's own commands, then
`compute_gate --date` on the pinned dates of docs/market-gate.md: the same colours as the
pure calibration. Needs ../shared/data/krx (skipped without it)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.gate.test_gate_real_history import PINNED

pytestmark = [pytest.mark.realdata, pytest.mark.django_db]


@pytest.fixture
def imported(krx_data):
    quiet = StringIO()
    call_command("import_index", str(krx_data / "kospi_index_1980-2020.csv"), index="KOSPI", stdout=quiet)
    call_command("import_index", str(krx_data / "kospi_index_2023-2026.csv"), index="KOSPI", stdout=quiet)
    call_command("import_index", str(krx_data / "kospi_close_volume_2022-2026.csv"), index="KOSPI", stdout=quiet)
    call_command("import_index", str(krx_data / "kosdaq_index_2023-2026.csv"), index="KOSDAQ", stdout=quiet)
    for market in ("kospi", "kosdaq"):
        call_command("import_breadth", str(krx_data / f"{market}_breadth.csv"), market=market.upper(),
                     highs_lows=str(krx_data / f"{market}_new_highs_lows.csv"), stdout=quiet)


def test_compute_gate_on_each_pinned_date_gives_its_colour(imported):
    got = {}
    for day, close, colour in PINNED:
        out = StringIO()
        call_command("compute_gate", date=day.isoformat(), dry_run=True, json=True, stdout=out)
        data = json.loads(out.getvalue())
        assert data["kospi"] == pytest.approx(close, abs=0.01), day
        assert data["trading_date"] == day.isoformat()
        got[day] = (data["status"], colour, [c["reason"] for c in data["components"]])
    wrong = {day: g for day, g in got.items() if g[0] != g[1]}
    assert not wrong, wrong


def test_dry_run_saves_nothing(imported):
    from marketgate.models import MarketGate

    call_command("compute_gate", date="2020-03-19", dry_run=True, stdout=StringIO())
    assert not MarketGate.objects.exists()


def test_the_printed_reasons_are_korean_by_default_and_english_with_lang(imported):
    korean, english = StringIO(), StringIO()
    call_command("compute_gate", date="2020-03-19", dry_run=True, stdout=korean)
    call_command("compute_gate", date="2020-03-19", dry_run=True, lang="en", stdout=english)
    assert "분산일" in korean.getvalue() and "distribution days" not in korean.getvalue()
    assert "distribution days" in english.getvalue() and "분산일" not in english.getvalue()
    # The correction line is rendered from its code in each language, labelled, without 0/0.
    assert "시장 국면 보정" in korean.getvalue() and "레벨 상한 39" in korean.getvalue()
    assert "market override" in english.getvalue() and "level capped at 39" in english.getvalue()
    assert " override " not in english.getvalue().replace("market override", "") and "0/0" not in english.getvalue()
