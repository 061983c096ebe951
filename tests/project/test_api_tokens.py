"""API tokens: created by command or admin, stored hashed, scoped, revocable; a bearer
request needs no CSRF token while a session still does."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from signals import tasks
from signals.models import ScanRun
from stockgate.apitokens.models import ApiToken, digest

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    sent: list[dict] = []
    monkeypatch.setattr(tasks.scan_vcp, "apply_async", lambda kwargs=None, **kw: sent.append(kwargs))
    return sent


def _user(name: str = "ops", staff: bool = True):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_user(name, password="pw-12345678", is_staff=staff)


def _create(*args: str) -> str:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue().strip()


def _post(path: str, body: object, token: str | None = None, client: Client | None = None):  # type: ignore[no-untyped-def]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return (client or Client(enforce_csrf_checks=True)).post(
        path, json.dumps(body), content_type="application/json", **headers
    )


def test_the_command_prints_a_token_that_is_stored_only_as_a_hash():
    _user()
    raw = _create("ops", "--name", "cron", "--scopes", "scan,read")
    token = ApiToken.objects.get()
    assert raw.startswith("sg_") and len(raw) > 40
    assert token.key_hash == digest(raw) and raw not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert token.scopes == ["read", "scan"] and token.name == "cron" and token.last_used_at is None


def test_a_token_queues_a_scan_without_csrf_and_records_its_last_use(queued, django_capture_on_commit_callbacks):
    _user()
    raw = _create("ops")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post("/api/scan", {"market": "KOSPI"}, raw)
    assert response.status_code == 202, response.content
    run = ScanRun.objects.get()
    assert run.triggered_by == "api:ops" and queued == [{"run_id": run.pk}]
    assert ApiToken.objects.get().last_used_at is not None
    follow = Client().get(run_url := response.json()["url"], HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert follow.status_code == 200 and follow.json()["id"] == run.pk, run_url


def test_a_session_still_needs_the_csrf_token(queued):
    client = Client(enforce_csrf_checks=True)
    client.force_login(_user())
    response = _post("/api/scan", {}, client=client)
    assert response.status_code == 403 and response.json()["error"] == "csrf_failed"
    assert not ScanRun.objects.exists()


@pytest.mark.parametrize("path", ["/api/scan", "/scan"])
def test_revoked_unknown_and_missing_tokens_get_401_and_queue_nothing(queued, path):
    _user()
    raw = _create("ops")
    ApiToken.objects.get().revoke()
    for token in (raw, "sg_not-a-real-token", None):
        response = _post(path, {"market": "KOSPI", "top_n": 5, "min_score": 7}, token)
        assert response.status_code == 401, (token, response.content)
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert not ScanRun.objects.exists() and queued == []


def test_revoking_from_the_command_line(queued):
    _user()
    raw = _create("ops")
    _create("ops", "--revoke", raw[:10])
    assert ApiToken.objects.get().revoked_at is not None
    assert _post("/api/scan", {}, raw).status_code == 401


def test_an_expired_token_or_inactive_user_is_refused(queued):
    user = _user()
    raw = _create("ops", "--days", "1")
    ApiToken.objects.update(expires_at="2000-01-01T00:00:00+09:00")
    assert _post("/api/scan", {}, raw).status_code == 401
    raw2 = _create("ops")
    user.is_active = False
    user.save()
    assert _post("/api/scan", {}, raw2).status_code == 401


def test_a_read_only_token_cannot_scan(queued):
    _user()
    raw = _create("ops", "--scopes", "read")
    response = _post("/api/scan", {}, raw)
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize("args", [["nobody"], ["viewer", "--scopes", "scan"], ["ops", "--scopes", "root"],
                                  ["ops", "--scopes", ""], ["ops", "--days", "0"]])
def test_bad_command_arguments_say_what_is_wrong_and_create_nothing(args):
    _user()
    _user("viewer", staff=False)
    with pytest.raises(CommandError):
        _create(*args)
    assert not ApiToken.objects.exists()


def test_metrics_bearer_is_not_taken_for_an_api_token(settings):
    settings.METRICS_TOKEN = "metrics-secret"
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-secret")
    assert response.status_code == 200


def test_admin_creates_a_token_and_shows_it_once():
    admin_user = get_user_model().objects.create_superuser("root", password="pw-12345678")
    client = Client()
    client.force_login(admin_user)
    response = client.post("/admin/apitokens/apitoken/add/", {"user": admin_user.pk, "name": "nightly",
                                                               "scopes": ["scan", "read"]}, follow=True)
    assert response.status_code == 200
    token = ApiToken.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    raw = next(m.split(": ")[-1] for m in shown if "sg_" in m)
    assert digest(raw) == token.key_hash and token.scopes == ["read", "scan"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"min_score": 70}, "0-10 scale"),
        ({"min_score": -1}, "0-10 scale"),
        ({"min_score": "7"}, "min_score"),
        ({"market": "NYSE"}, "market"),
        ({"top_n": 0}, "top_n"),
        ({"wait": 9999}, "wait"),
        ({"wait": "soon"}, "wait"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_the_old_scan_call_rejects_bad_bodies_with_a_reason(queued, body, needle):
    _user()
    response = _post("/scan", body, _create("ops"))
    assert response.status_code == 400 and needle in response.json()["message"], response.json()
    assert not ScanRun.objects.exists() and queued == []


def test_the_old_scan_call_maps_min_score_to_the_native_scale_and_answers_202_past_wait(queued):
    _user()
    response = _post("/scan?wait=0", {"market": "KOSPI", "top_n": 5, "min_score": 7}, _create("ops"))
    assert response.status_code == 202, response.content
    run = ScanRun.objects.get()
    assert run.parameters == {"market": "KOSPI", "top_n": 5, "min_score": 70.0, "date": None}
    assert run.triggered_by == "legacy:ops"
    assert response.json() == {"id": run.pk, "status": "queued", "url": f"/api/scans/{run.pk}"}


def test_get_on_the_old_scan_call_is_405():
    response = Client().get("/scan")
    assert response.status_code == 405 and response["Allow"] == "POST"
