"""POST /api/scan (staff, CSRF) and GET /api/scans/<id>."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from signals import tasks
from signals.models import ScanRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    sent: list[dict] = []
    monkeypatch.setattr(tasks.scan_vcp, "apply_async", lambda kwargs=None, **kw: sent.append(kwargs))
    return sent


def _client(staff: bool = True, csrf: bool = True) -> Client:
    user = get_user_model().objects.create_user("boss" if staff else "viewer", password="pw-12345678", is_staff=staff)
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def _token(client: Client) -> str:
    client.get("/admin/")  # any page that renders a form sets the cookie
    return client.cookies["csrftoken"].value


def _post(client: Client, body: object, token: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"HTTP_X_CSRFTOKEN": token} if token else {}
    return client.post("/api/scan", json.dumps(body), content_type="application/json", **headers)


def test_a_staff_post_with_the_csrf_token_queues_a_scan_and_returns_its_id(queued, django_capture_on_commit_callbacks):
    client = _client()
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, {"market": "KOSPI", "top_n": 5, "min_score": 60}, _token(client))
    assert response.status_code == 202
    run = ScanRun.objects.get()
    assert response.json() == {"id": run.pk, "status": "queued", "url": f"/api/scans/{run.pk}", "coalesced": False}
    assert run.parameters == {"market": "KOSPI", "top_n": 5, "min_score": 60.0, "date": None}
    assert run.triggered_by == "api:boss"
    assert queued == [{"run_id": run.pk}]


def test_a_post_without_the_csrf_token_is_rejected_as_json(queued):
    response = _post(_client(), {"market": "ALL"})
    assert response.status_code == 403 and response.json()["error"] == "csrf_failed"
    assert not ScanRun.objects.exists() and queued == []


def test_anonymous_callers_get_401_json_not_a_login_redirect(queued):
    response = Client().post("/api/scan", "{}", content_type="application/json")
    assert response.status_code == 401 and response.json()["error"] == "unauthenticated"


def test_non_staff_users_get_403(queued):
    response = _post(_client(staff=False, csrf=False), {})
    assert response.status_code == 403 and response.json()["error"] == "forbidden"


@pytest.mark.parametrize(
    "body",
    [
        {"market": "NYSE"},
        {"top_n": 0},
        {"top_n": "ten"},
        {"min_score": 200},
        {"date": "yesterday"},
        {"colour": "red"},
        [1, 2],
    ],
)
def test_bad_bodies_get_400_with_a_reason(queued, body):
    client = _client(csrf=False)
    response = _post(client, body)
    assert response.status_code == 400 and response.json()["message"]
    assert not ScanRun.objects.exists()


def test_a_body_that_is_not_json_gets_400(queued):
    response = _client(csrf=False).post("/api/scan", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "bad_json"


def test_get_on_the_scan_endpoint_is_405_json(queued):
    response = _client().get("/api/scan")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


def test_a_broker_failure_marks_the_run_failed(monkeypatch, django_capture_on_commit_callbacks):
    def down(**kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.scan_vcp, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(_client(csrf=False), {})
    run = ScanRun.objects.get(pk=response.json()["id"])
    assert run.status == "failed" and "broker unreachable" in run.error


def test_a_scan_run_is_readable_by_id():
    run = ScanRun.objects.create(status="succeeded", signal_count=3, parameters={"market": "ALL"})
    response = _client().get(f"/api/scans/{run.pk}")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(run.to_data()))


def test_an_unknown_scan_run_is_404_json():
    response = _client().get("/api/scans/999999")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_scan_runs_are_staff_only():
    run = ScanRun.objects.create()
    assert Client().get(f"/api/scans/{run.pk}").status_code == 401
