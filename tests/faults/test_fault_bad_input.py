"""Fault: malformed imports and bad scan or API arguments, through the real entry points
(`manage.py` as a subprocess, a started web server). Each gets a clear error that names
the file and line, the column, the argument or the field, and nothing is partly written:
what was stored before is still there, and a refused request leaves no trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client

from marketgate.models import DailyBar, Instrument
from signals.models import ScanRun, Signal
from tests.processes import Proc, manage, web
from tests.scan_market import AS_OF, vcp_market

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEADER = "ticker,date,open,high,low,close,volume\n"
ROWS = [
    "005930,2025-06-12,57000,58000,56900,57800,10000000\n",
    "005930,2025-06-13,58000,58500,57500,58300,12000000\n",
    "000660,2025-06-13,190000,193000,189000,192500,3000000\n",
    "000660,2025-06-16,192500,194000,191000,193500,2800000\n",
]


def bar_keys() -> set[tuple[str, date]]:
    return set(DailyBar.objects.values_list("instrument_id", "date"))


def import_bars(*paths: Path):  # type: ignore[no-untyped-def]
    return manage("import_bars", *map(str, paths), "--no-progress", timeout=180)


# --- imports -----------------------------------------------------------------------


def test_a_broken_row_in_the_middle_is_named_and_only_it_is_left_out(tmp_path: Path) -> None:
    """Survives: every good row of the file, before and after the broken one, and the
    bars stored before the import."""
    earlier = tmp_path / "earlier.csv"
    earlier.write_text(HEADER + "035720,2025-06-13,40000,41000,39500,40500,900000\n")
    assert import_bars(earlier).returncode == 0
    before = bar_keys()

    path = tmp_path / "bars.csv"
    path.write_text(HEADER + ROWS[0] + ROWS[1] + "005930,2025-06-16,58300,oops,58100,58800,11000000\n" + ROWS[2] + ROWS[3])
    done = import_bars(path)
    assert done.returncode == 0, done.stderr  # bad rows are reported and skipped, not fatal
    assert f"{path}:4: 005930 2025-06-16: bad number in high: 'oops'" in done.stderr
    after = bar_keys()
    assert after - before == {
        ("005930", date(2025, 6, 12)), ("005930", date(2025, 6, 13)),
        ("000660", date(2025, 6, 13)), ("000660", date(2025, 6, 16)),
    }
    assert before <= after and ("005930", date(2025, 6, 16)) not in after


def test_a_wrong_header_writes_nothing_at_all_and_names_the_missing_columns(tmp_path: Path) -> None:
    """Survives: the stored bars and instruments, untouched; not even the good file named
    before the bad one is imported."""
    earlier = tmp_path / "earlier.csv"
    earlier.write_text(HEADER + ROWS[0])
    assert import_bars(earlier).returncode == 0
    bars, instruments = bar_keys(), Instrument.objects.count()

    good = tmp_path / "good.csv"
    good.write_text(HEADER + "".join(ROWS[1:]))
    bad = tmp_path / "wrong_header.csv"
    bad.write_text("ticker,date,open,high,low,price,qty\n" + "005930,2025-06-16,1,1,1,1,1\n")
    done = import_bars(good, bad)
    assert done.returncode != 0
    assert "wrong_header.csv" in done.stderr and "missing column(s): close, volume" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert bar_keys() == bars and Instrument.objects.count() == instruments


# --- manage.py scan ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--market", "XYZ"], "--market: invalid market (KOSPI, KOSDAQ or ALL) value: 'XYZ'"),
        (["--top-n", "-1"], "--top-n: invalid positive integer value: '-1'"),
        (["--top-n", "ten"], "--top-n: invalid positive integer value: 'ten'"),
        (["--min-score", "101"], "--min-score: invalid score (0-100) value: '101'"),
        (["--date", "2025-13-40"], "--date: invalid date (YYYY-MM-DD) value: '2025-13-40'"),
    ],
)
def test_bad_scan_arguments_exit_non_zero_before_anything_runs(args: list[str], message: str) -> None:
    """Survives: the stored signals; no ScanRun is even created."""
    vcp_market()
    done = manage("scan", "--no-progress", *args, timeout=120)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not ScanRun.objects.exists() and not Signal.objects.exists()


def test_a_scan_of_a_date_without_bars_fails_and_says_why() -> None:
    """Survives: nothing is written for that date; the run is recorded as failed with the
    reason, never left `running`."""
    vcp_market()
    done = manage("scan", "--no-progress", "--date", "2025-06-15", timeout=120)  # a Sunday
    assert done.returncode != 0
    assert "No daily bars for 2025-06-15" in done.stderr and "Traceback" not in done.stderr, done.stderr
    run = ScanRun.objects.get()
    assert run.status == "failed" and "No daily bars for 2025-06-15" in run.error
    assert not Signal.objects.exists()


def test_a_scan_after_the_last_bars_is_refused_with_the_latest_date_named() -> None:
    vcp_market()
    done = manage("scan", "--no-progress", "--date", "2030-01-02", timeout=120)
    assert done.returncode != 0
    assert f"the latest up to then is {AS_OF.isoformat()}" in done.stderr, done.stderr
    assert not ScanRun.objects.filter(status__in=["running", "queued"]).exists()
    assert not Signal.objects.exists()


# --- the JSON API on a started server ----------------------------------------------


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker) -> Iterator[Proc]:  # type: ignore[no-untyped-def]
    proc = web(HEALTH_REQUIRE_FEED="false").start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def staff(server: Proc) -> requests.Session:
    """A browser-like session of a logged-in staff user holding the CSRF token."""
    user = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client = Client()
    client.force_login(user)  # a real session row, read by the server process
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    base = f"http://127.0.0.1:{server.port}"
    assert session.get(f"{base}/admin/login/", timeout=30).status_code in (200, 302)
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.base = base  # type: ignore[attr-defined]
    return session


def post_scan(session: requests.Session, body: str) -> requests.Response:
    return session.post(f"{session.base}/api/scan", data=body.encode(),  # type: ignore[attr-defined]
                        headers={"Content-Type": "application/json"}, timeout=30)


@pytest.mark.parametrize(
    ("body", "error", "names"),
    [
        ('{"market": "ALL",', "bad_json", "not a JSON object"),
        ("[1, 2]", "bad_json", "JSON object"),
        ('{"market": "XYZ"}', "bad_request", "market"),
        ('{"market": 5}', "bad_request", "market"),
        ('{"top_n": "ten"}', "bad_request", "top_n"),
        ('{"top_n": 2.5}', "bad_request", "top_n"),
        ('{"top_n": -1}', "bad_request", "top_n"),
        ('{"min_score": true}', "bad_request", "min_score"),
        ('{"date": "2025-13-40"}', "bad_request", "date"),
        ('{"colour": "red"}', "bad_request", "colour"),
    ],
)
def test_bad_scan_requests_are_400_json_naming_the_field(staff: requests.Session, body: str, error: str,
                                                           names: str) -> None:
    """Survives: no ScanRun is created, nothing is queued; the server keeps serving."""
    response = post_scan(staff, body)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == error and names in response.json()["message"], response.json()
    assert not ScanRun.objects.exists()
    assert staff.get(f"{staff.base}/healthz", timeout=30).status_code == 200  # type: ignore[attr-defined]


HOSTILE_NUMBERS = [
    ('{"top_n": Infinity}', "bad_json", "Infinity is not a JSON value"),
    ('{"top_n": -Infinity}', "bad_json", "-Infinity is not a JSON value"),
    ('{"top_n": NaN}', "bad_json", "NaN is not a JSON value"),
    ('{"min_score": NaN}', "bad_json", "NaN is not a JSON value"),
    ('{"top_n": 1e400}', "bad_request", "top_n must be a finite number, not inf"),
    ('{"min_score": -1e400}', "bad_request", "min_score must be a finite number, not -inf"),
    ('{"top_n": 100000000000000000000000000000000000000}', "bad_request", "top_n must be a whole number from 1 to 5,000"),
    ('{"top_n": 1e30}', "bad_request", "top_n must be a whole number from 1 to 5,000"),
    ('{"top_n": -3}', "bad_request", "top_n must be a whole number from 1 to 5,000, not -3"),
    ('{"top_n": "5"}', "bad_request", "top_n must be a number or null, not '5'"),
    ('{"top_n": true}', "bad_request", "top_n must be a number or null, not True"),
    ('{"top_n": [5]}', "bad_request", "top_n must be a number or null, not [5]"),
    ('{"min_score": false}', "bad_request", "min_score must be a number or null, not False"),
    ('{"min_score": "high"}', "bad_request", "min_score must be a number or null, not 'high'"),
]


@pytest.mark.parametrize("endpoint", ["/api/scan", "/scan"])
@pytest.mark.parametrize(("body", "error", "message"), HOSTILE_NUMBERS)
def test_hostile_numbers_to_either_scan_api_are_a_clear_400(staff: requests.Session, endpoint: str, body: str,
                                                            error: str, message: str) -> None:
    """Infinity, NaN, overflowing, negative, huge, string and boolean numbers were a 500
    (int(inf) raised inside the view) or a queued run no one meant. Survives: no ScanRun,
    nothing queued, the server keeps serving."""
    response = staff.post(f"{staff.base}{endpoint}", data=body.encode(),  # type: ignore[attr-defined]
                          headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error and message in response.json()["message"], response.json()
    assert not ScanRun.objects.exists()
    assert staff.get(f"{staff.base}/healthz", timeout=30).status_code == 200  # type: ignore[attr-defined]


def test_a_hostile_wait_to_the_legacy_scan_is_a_clear_400(staff: requests.Session) -> None:
    for query, message in (("wait=Infinity", "wait must be a finite number"), ("wait=nan", "wait must be a finite"),
                           ("wait=-1", "wait must be between 0 and 600")):
        response = staff.post(f"{staff.base}/scan?{query}", data=b"{}",  # type: ignore[attr-defined]
                              headers={"Content-Type": "application/json"}, timeout=30)
        assert response.status_code == 400 and message in response.json()["message"], (query, response.text)
    assert not ScanRun.objects.exists()


@pytest.mark.parametrize(
    ("query", "names"),
    [("date=garbage&grade=Z", "date"), ("grade=Z", "grade"), ("market=NYSE", "market")],
)
def test_bad_signal_filters_are_400_json(staff: requests.Session, query: str, names: str) -> None:
    response = staff.get(f"{staff.base}/api/signals?{query}", timeout=30)  # type: ignore[attr-defined]
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "bad_request" and names in response.json()["message"], response.json()


def test_an_unknown_scan_run_is_404_json(staff: requests.Session) -> None:
    response = staff.get(f"{staff.base}/api/scans/999999", timeout=30)  # type: ignore[attr-defined]
    assert response.status_code == 404 and response.json() == {"error": "not_found", "message": "no scan run 999999"}
