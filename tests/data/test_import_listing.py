"""manage.py import_listing: instruments from a KRX listing file."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from marketgate.data.kinds import classify_kind
from marketgate.models import Instrument

pytestmark = pytest.mark.django_db

HEADER = "ticker,name,name_en,market,security_group,share_kind,listed_on,listed_shares\n"
ROWS = (
    '005930,삼성전자,"Samsung Electronics Co., Ltd.",KOSPI,주권,보통주,1975-06-11,5919637922\n'
    "005935,삼성전자우,Samsung Electronics (1P),KOSPI,주권,구형우선주,1989-09-25,815974664\n"
    "009520,포스코엠텍,POSCO M-TECH,KOSDAQ GLOBAL,주권,보통주,1997-11-10,41642703\n"
    "440790,교보15호스팩,KYOBO 15 SPAC,KOSDAQ,주권,보통주,2022-12-21,10000000\n"
    "088980,맥쿼리인프라,Macquarie Korea Infrastructure Fund,KOSPI,사회간접자본투융자회사,보통주,2006-03-15,478000000\n"
    "395400,SK리츠,SK REIT,KOSPI,부동산투자회사,보통주,2021-09-14,240000000\n"
    "217320,썬테크,Suntech,KONEX,주권,보통주,2015-07-01,1000000\n"
)


def write(tmp_path: Path, text: str, name: str = "listing.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(path: Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_listing", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_every_listed_issue(tmp_path):
    run(write(tmp_path, HEADER + ROWS))
    samsung = Instrument.objects.get(ticker="005930")
    assert (samsung.name, samsung.name_en, samsung.market, samsung.kind) == (
        "삼성전자", "Samsung Electronics Co., Ltd.", "KOSPI", "common"
    )
    assert samsung.listed_shares == 5919637922 and samsung.active


def test_kosdaq_global_is_kosdaq_and_konex_stays_konex(tmp_path):
    run(write(tmp_path, HEADER + ROWS))
    assert Instrument.objects.get(ticker="009520").market == "KOSDAQ"
    assert Instrument.objects.get(ticker="217320").market == "KONEX"


def test_kinds_come_from_share_kind_group_and_name(tmp_path):
    run(write(tmp_path, HEADER + ROWS))
    kinds = dict(Instrument.objects.values_list("ticker", "kind"))
    assert kinds["005935"] == "preferred"
    assert kinds["440790"] == "spac"
    assert kinds["395400"] == "reit"
    assert kinds["088980"] == "other"


def test_name_conventions_classify_when_the_file_has_no_kind_columns():
    assert classify_kind("현대차2우B") == "preferred"
    assert classify_kind("LG생활건강우") == "preferred"
    assert classify_kind("KODEX 반도체") == "etf"
    assert classify_kind("대우건설") == "common"
    assert classify_kind("미래에셋대우") == "common"


def test_reimport_updates_in_place(tmp_path):
    run(write(tmp_path, HEADER + ROWS))
    out, _ = run(write(tmp_path, HEADER + ROWS.replace("삼성전자,", "삼성전자(주),"), "again.csv"))
    assert Instrument.objects.count() == 7
    assert Instrument.objects.get(ticker="005930").name == "삼성전자(주)"
    assert "0 new, 7 updated" in out


def test_import_fills_in_an_instrument_created_by_a_bar_import(tmp_path):
    Instrument.objects.create(ticker="005930", name="005930", market="KOSPI", sector="반도체")
    run(write(tmp_path, HEADER + ROWS))
    samsung = Instrument.objects.get(ticker="005930")
    assert samsung.name == "삼성전자" and samsung.sector == "반도체"


def test_missing_columns_are_named_and_nothing_is_written(tmp_path):
    with pytest.raises(CommandError, match="missing column\\(s\\): market"):
        run(write(tmp_path, "ticker,name\n005930,삼성전자\n"))
    assert Instrument.objects.count() == 0


def test_bad_rows_are_reported_and_skipped(tmp_path):
    text = HEADER + ROWS + "12345,이상한,,KOSPI,주권,보통주,,1\n" + "111111,어딘가,,NYSE,주권,보통주,,1\n" + "222222,숫자,,KOSPI,주권,보통주,,many\n"
    path = write(tmp_path, text)
    _, err = run(path)
    assert Instrument.objects.count() == 7
    assert f"{path}:9: bad ticker '12345'" in err
    assert f"{path}:10: unknown market 'NYSE'" in err
    assert f"{path}:11: bad number in listed_shares: 'many'" in err


def test_duplicate_tickers_last_wins(tmp_path):
    path = write(tmp_path, HEADER + ROWS + "005930,삼성전자2,,KOSPI,주권,보통주,,1\n")
    _, err = run(path)
    assert Instrument.objects.get(ticker="005930").name == "삼성전자2"
    assert f"{path}:2: duplicate of line 9; the last one wins" in err


def test_an_empty_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="empty file"):
        run(write(tmp_path, ""))


def test_the_shared_listing_imports_cleanly(tmp_path, krx_data):
    out, _ = run(krx_data / "listing.csv")
    assert Instrument.objects.count() == 2882
    assert "0 bad rows" in out
    assert Instrument.objects.filter(kind="preferred").count() > 90
    assert not Instrument.objects.exclude(market__in=["KOSPI", "KOSDAQ", "KONEX"]).exists()
