"""A Signal saved or deleted anywhere (admin, shell, tasks) reaches subscribers of
`signal:vcp`: post_save/post_delete -> on_commit -> group_send -> the consumer. Many
rows changed in one transaction make one signal_update."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client

from signals.models import Signal
from tests import factories, processes

DAY = date(2026, 2, 6)


def _history(redis_client) -> list[bytes]:  # type: ignore[no-untyped-def]
    from django.conf import settings

    return redis_client.lrange(f"{settings.REALTIME_PREFIX}:topic:signal.vcp:history", 0, -1)


@pytest.mark.django_db
def test_hundreds_of_rows_in_one_transaction_send_one_update(clean_redis, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for i in range(300):
            factories.signal(f"{100000 + i}", signal_date=DAY)
        Signal.objects.filter(ticker__in=["100000", "100001"]).delete()
    assert len(callbacks) == 1
    (frame,) = _history(clean_redis)
    assert b'"count":298' in frame


@pytest.mark.django_db
def test_an_edit_of_an_older_day_sends_nothing(clean_redis, django_capture_on_commit_callbacks):
    factories.signal("005930", signal_date=DAY)
    with django_capture_on_commit_callbacks(execute=True):
        factories.signal("000660", signal_date=date(2026, 2, 5))
    assert _history(clean_redis) == []


@pytest.mark.django_db
def test_a_rolled_back_edit_sends_nothing(clean_redis, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                factories.signal("005930", signal_date=DAY)
                raise RuntimeError("abort")
        except RuntimeError:
            pass
    assert _history(clean_redis) == []


def admin_form(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The change form's fields as the browser would post them back."""
    form = page.context["adminform"].form
    data: dict[str, str] = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return data


async def _next_signal_update(ws: websockets.ClientConnection, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if frame["type"] == "signal_update" and not frame.get("snapshot"):
            return frame


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_admin_edit_and_delete_reach_a_subscriber_within_a_second(clean_redis):  # type: ignore[no-untyped-def]
    kept = factories.signal("005930", name="삼성전자", signal_date=DAY, score=80)
    edited = factories.signal("000660", name="SK하이닉스", signal_date=DAY, score=70)
    User.objects.create_superuser("ops", password="pw-123456")
    admin = Client()
    admin.force_login(User.objects.get(username="ops"))
    server = processes.web("uvicorn", HEALTH_REQUIRE_FEED="false").start()
    try:
        async def scenario() -> tuple[dict, dict]:
            async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws?subscribe=signal:vcp") as ws:
                while json.loads(await ws.recv()).get("type") != "signal_update":
                    pass  # connected, subscribed, then the snapshot
                page = await sync_to_async(admin.get)(f"/admin/signals/signal/{edited.pk}/change/")
                assert page.status_code == 200
                form = admin_form(page)
                form["score"] = 93
                saved = await sync_to_async(admin.post)(f"/admin/signals/signal/{edited.pk}/change/", form)
                assert saved.status_code == 302, saved.content[:2000]
                # The change is committed when the admin answers; the frame must follow within 1 s.
                after_edit = await _next_signal_update(ws, 1.0)
                gone = await sync_to_async(admin.post)(f"/admin/signals/signal/{edited.pk}/delete/", {"post": "yes"})
                assert gone.status_code == 302
                after_delete = await _next_signal_update(ws, 1.0)
                return after_edit, after_delete

        after_edit, after_delete = asyncio.run(scenario())
    finally:
        server.stop()
    scores = {s["ticker"]: s["score"] for s in after_edit["data"]["signals"]}
    assert scores == {"005930": 80, "000660": 93}, after_edit
    assert [s["ticker"] for s in after_delete["data"]["signals"]] == [kept.ticker]
