"""A flood of scan requests against a started server (web, then a worker): at most
SCAN_QUEUE_MAX scans are queued or running; an identical request joins the queued run;
anything more is 429 with Retry-After on both scan APIs, and nothing is queued for it.
Once the worker drains the queue, requests are accepted again."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model

from signals.models import ScanRun, ScanStatus
from stockgate.apitokens.models import ApiToken
from tests.processes import web, worker

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_queued_scans_are_capped_coalesced_and_refused_with_retry_after(clean_redis: Any) -> None:
    """Survives: the three admitted runs (each runs once the worker is up), the server;
    refused requests leave no run and no task behind."""
    user = get_user_model().objects.create_user("cron", is_staff=True)
    _, raw = ApiToken.issue(user, "flood", "scan,read")
    headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
    server = web(HEALTH_REQUIRE_FEED="false").start()
    base = f"http://127.0.0.1:{server.port}"
    celery = None

    def post(path: str, body: str) -> requests.Response:
        return requests.post(f"{base}{path}", data=body, headers=headers, timeout=60)

    try:
        admitted = [post("/api/scan", f'{{"market": "{market}"}}') for market in ("KOSPI", "KOSDAQ", "ALL")]
        assert [r.status_code for r in admitted] == [202, 202, 202], [r.text for r in admitted]
        ids = [r.json()["id"] for r in admitted]
        assert len(set(ids)) == 3 and not any(r.json()["coalesced"] for r in admitted)

        again = post("/api/scan", '{"market": "KOSPI"}')
        assert again.status_code == 202 and again.json()["id"] == ids[0] and again.json()["coalesced"] is True

        refused = post("/api/scan", '{"market": "KOSPI", "top_n": 5}')
        assert refused.status_code == 429, refused.text
        assert refused.headers["Retry-After"] == "60"  # no finished scan yet to time
        assert refused.json() == {
            "error": "too_many_scans",
            "message": "3 scans are queued or running (at most 3); try again in 60 s",
            "retry_after": 60,
        }
        legacy = post("/scan?wait=0", '{"market": "KOSPI", "top_n": 5}')
        assert legacy.status_code == 429 and legacy.headers["Retry-After"] == "60", legacy.text
        assert sorted(ScanRun.objects.values_list("pk", flat=True)) == sorted(ids)

        celery = worker().start()
        deadline = time.monotonic() + 120
        while ScanRun.objects.filter(status__in=[ScanStatus.QUEUED, ScanStatus.RUNNING]).exists():
            assert time.monotonic() < deadline, celery.output()[-3000:]
            time.sleep(0.3)
        # Each admitted run ran (no bars here, so each fails and says why), none twice.
        assert ScanRun.objects.count() == 3
        assert all(run.finished_at is not None for run in ScanRun.objects.all())

        later = post("/api/scan", '{"market": "KOSPI", "top_n": 5}')
        assert later.status_code == 202 and later.json()["coalesced"] is False, later.text
    finally:
        server.stop()
        if celery is not None:
            celery.stop()
