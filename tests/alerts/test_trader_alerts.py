"""Trader alerts: registration (token or session), events -> one delivery each, retries
then a logged failure, price crossings, the admin test button. Deliveries run through
the real task code, eagerly, against a real local HTTP receiver."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from marketgate.feeds.quotes import quotes_key
from signals.models import ScanRun
from signals.tasks import update_signal_outcomes
from stockgate.alerts import tasks
from stockgate.alerts.models import AlertDelivery, AlertDestination, AlertRule
from stockgate.celery import app
from tests import factories
from tests.scans.test_signal_outcomes_db import plan, store
from tests.services import WebhookReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager(settings):  # type: ignore[no-untyped-def]
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.ALERTS_ALLOW_PRIVATE_URLS = True
    settings.ALERTS_RETRY_BACKOFF_SECONDS = 0
    settings.ALERTS_MAX_RETRIES = 2
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    hook = WebhookReceiver()
    yield hook
    hook.close()


def _user(name: str = "trader"):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_user(name, password="pw-12345678")


def _token(user) -> str:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("create_api_token", user.username, "--scopes", "alerts,read", stdout=out)
    return out.getvalue().strip()


def _destination(url: str, *events: tuple[str, dict], **fields) -> AlertDestination:  # type: ignore[no-untyped-def]
    owner = get_user_model().objects.first() or _user()
    destination = AlertDestination.objects.create(owner=owner, name="desk", kind=fields.pop("kind", "webhook"), url=url,
                                                  min_interval_seconds=0, **fields)
    for event, params in events:
        AlertRule.objects.create(destination=destination, event=event, params=params)
    return destination


def test_a_token_registers_a_webhook_without_csrf_and_a_session_needs_it(eager, receiver):
    raw = _token(_user())
    body = {"name": "내 웹훅", "kind": "webhook", "url": receiver.url, "language": "en",
            "events": [{"event": "gate_colour"}, {"event": "signal_grade", "min_grade": "a"},
                       {"event": "price_cross", "ticker": "005930", "level": 75000, "direction": "above"}]}
    response = Client(enforce_csrf_checks=True).post("/api/alerts", json.dumps(body), content_type="application/json",
                                                     HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 201, response.content
    data = response.json()
    assert [e["event"] for e in data["events"]] == ["gate_colour", "signal_grade", "price_cross"]
    assert data["events"][1]["min_grade"] == "A"
    assert AlertDestination.objects.get().created_by_token is not None
    session = Client(enforce_csrf_checks=True)
    session.force_login(get_user_model().objects.get())
    refused = session.post("/api/alerts", json.dumps(body), content_type="application/json")
    assert refused.status_code == 403 and AlertDestination.objects.count() == 1
    listed = Client().get("/api/alerts", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert [d["name"] for d in listed["destinations"]] == ["내 웹훅"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"kind": "pager"}, "kind"),
        ({"url": "ftp://example.com/x"}, "http"),
        ({"events": []}, "events"),
        ({"events": [{"event": "moon"}]}, "event must be"),
        ({"events": [{"event": "signal_outcome", "outcomes": ["moon"]}]}, "outcomes"),
        ({"events": [{"event": "signal_outcome", "outcomes": []}]}, "outcomes"),
        ({"events": [{"event": "signal_outcome", "min_grade": "Z"}]}, "min_grade"),
        ({"events": [{"event": "signal_grade", "min_grade": "Z"}]}, "min_grade"),
        ({"events": [{"event": "price_cross", "ticker": "삼성", "level": 1}]}, "ticker"),
        ({"events": [{"event": "price_cross", "ticker": "005930", "level": -5}]}, "level"),
        ({"events": [{"event": "gate_colour", "colour": "red"}]}, "colour"),
        ({"kind": "telegram", "chat_id": "123"}, "ALERTS_TELEGRAM_BOT_TOKEN"),
        ({"min_interval_seconds": "fast"}, "min_interval"),
        ({"extra": 1}, "extra"),
        ({"url": "https://example.com/" + "x" * 600}, "longer than 500"),
    ],
)
def test_bad_registrations_get_400_with_a_reason_and_save_nothing(eager, receiver, change, needle):
    raw = _token(_user())
    body = {"name": "x", "kind": "webhook", "url": receiver.url, "events": [{"event": "gate_colour"}], **change}
    response = Client().post("/api/alerts", json.dumps(body), content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 400 and needle in response.json()["message"], response.json()
    assert not AlertDestination.objects.exists()


def test_a_private_address_is_refused_unless_allowed(receiver, settings):
    raw = _token(_user())
    body = {"name": "x", "kind": "slack", "url": receiver.url, "events": [{"event": "gate_colour"}]}
    response = Client().post("/api/alerts", json.dumps(body), content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 400 and "private" in response.json()["message"]


def test_without_the_alerts_scope_or_a_token_nothing_is_registered():
    user = _user()
    out = StringIO()
    call_command("create_api_token", user.username, "--scopes", "read", stdout=out)
    response = Client().post("/api/alerts", "{}", content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip()}")
    assert response.status_code == 403
    assert Client().post("/api/alerts", "{}", content_type="application/json").status_code == 401


def test_a_gate_colour_change_is_one_delivery_and_a_resave_adds_none(eager, receiver, django_capture_on_commit_callbacks):
    destination = _destination(receiver.url, ("gate_colour", {}))
    earlier = timezone.now() - timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        factories.gate(status="GREEN", level=72, computed_at=earlier, as_of=earlier)
    with django_capture_on_commit_callbacks(execute=True):
        red = factories.gate(status="RED", level=30)
    with django_capture_on_commit_callbacks(execute=True):
        red.save()  # the same row again: no second alert
    with django_capture_on_commit_callbacks(execute=True):
        factories.gate(status="RED", level=28, computed_at=timezone.now() + timedelta(minutes=5))  # no change
    assert receiver.wait_for(1) and len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert body["event"] == "gate_colour" and body["text"].startswith("마켓 게이트 초록 → 빨강")
    delivery = AlertDelivery.objects.get(destination=destination)
    assert delivery.status == "sent" and delivery.attempts == 1


def test_a_new_s_signal_is_one_delivery_and_lower_grades_none(eager, receiver, django_capture_on_commit_callbacks):
    _destination(receiver.url, ("signal_grade", {"min_grade": "S"}), language="en")
    run = ScanRun.objects.create(status="running")
    factories.signal("005930", grade="S", score=88, scan_run=run)
    factories.signal("000660", grade="B", score=66, name="SK하이닉스", scan_run=run)
    with django_capture_on_commit_callbacks(execute=True):
        run.status = "succeeded"
        run.save()
    with django_capture_on_commit_callbacks(execute=True):
        run.save()  # the run saved again (a redelivered task): still one alert
    assert receiver.wait_for(1) and len(receiver.bodies) == 1
    assert receiver.bodies[0]["text"].startswith("New VCP signal, grade S: 삼성전자 (005930) score 88/100")
    assert "75,100원" in receiver.bodies[0]["text"]


def test_a_target_and_a_stop_hit_are_one_delivery_each_and_a_rerun_adds_none(
        eager, receiver, clean_redis, django_capture_on_commit_callbacks):
    """What must hold: each signal that reaches its target or stop is told once, to the rules
    that ask for that outcome at its grade; open signals and a second run tell nothing."""
    _destination(receiver.url, ("signal_outcome", {"outcomes": ["target", "stop"]}), language="en")
    plan("000010", grade="S", name="승자")
    plan("000020", grade="A", name="패자")
    plan("000030", grade="S")
    store("000010", (9_900, 10_100, 9_800, 10_050), (10_100, 11_600, 10_000, 11_400))  # target
    store("000020", (9_900, 10_100, 9_800, 10_050), (9_000, 9_100, 8_900, 9_000))  # stop, gapping open
    store("000030", (9_800, 9_900, 9_700, 9_850))  # still pending
    with django_capture_on_commit_callbacks(execute=True):
        update_signal_outcomes()
    assert receiver.wait_for(2) and len(receiver.bodies) == 2
    texts = sorted(b["text"] for b in receiver.bodies)
    assert texts[0].startswith("VCP signal 승자 (000010, 2026-02-03, grade S) hit its target on 2026-02-05 at 11,500원")
    assert texts[1].startswith("VCP signal 패자 (000020, 2026-02-03, grade A) was stopped out on 2026-02-05 at 9,000원 "
                               "(gap at the open) -2.00R")
    with django_capture_on_commit_callbacks(execute=True):
        update_signal_outcomes()  # final outcomes are not read again
    assert AlertDelivery.objects.filter(event="signal_outcome").count() == 2


def test_an_outcome_rule_for_stops_of_a_grades_skips_targets_and_b_grades(
        eager, receiver, clean_redis, django_capture_on_commit_callbacks):
    _destination(receiver.url, ("signal_outcome", {"outcomes": ["stop"], "min_grade": "A"}))
    plan("000010", grade="S")
    plan("000020", grade="B")
    plan("000040", grade="A", name="손절")
    store("000010", (9_900, 10_100, 9_800, 10_050), (10_100, 11_600, 10_000, 11_400))  # target: not asked for
    store("000020", (9_900, 10_100, 9_800, 10_050), (9_000, 9_100, 8_900, 9_000))  # stop, but grade B
    store("000040", (9_900, 10_100, 9_800, 10_050), (9_600, 9_700, 9_400, 9_450))  # stop at 9,500
    with django_capture_on_commit_callbacks(execute=True):
        update_signal_outcomes()
    assert receiver.wait_for(1)
    deliveries = AlertDelivery.objects.filter(event="signal_outcome")
    assert [d.payload["ticker"] for d in deliveries] == ["000040"]
    assert deliveries[0].text.startswith("VCP 신호 손절: 손절(000040, 2026-02-03 A등급) 2026-02-05 9,500원")


def test_a_failing_receiver_is_retried_then_the_failure_is_logged(eager, django_capture_on_commit_callbacks, caplog):
    failing = WebhookReceiver(status=500)
    try:
        destination = _destination(failing.url, ("gate_colour", {}))
        with django_capture_on_commit_callbacks(execute=True):
            factories.gate(status="GREEN", computed_at=timezone.now() - timedelta(minutes=5))
        with django_capture_on_commit_callbacks(execute=True):
            factories.gate(status="YELLOW")
        failing.wait_for(3)
    finally:
        failing.close()
    delivery = AlertDelivery.objects.get(destination=destination)
    assert len(failing.bodies) == 3  # the first try and ALERTS_MAX_RETRIES=2 retries
    assert delivery.status == "failed" and delivery.attempts == 3 and "HTTP 500" in delivery.last_error
    assert any("failed after 3 attempt(s)" in r.getMessage() for r in caplog.records)


def test_a_destination_busy_within_its_interval_waits_instead_of_failing(clean_redis, monkeypatch):
    later: list[float] = []
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda args, countdown: later.append(countdown))
    assert tasks.rate_wait(999, 2.0) == 0.0
    wait = tasks.rate_wait(999, 2.0)
    assert 0 < wait <= 2.0


def test_a_price_crossing_alerts_once_per_crossing(eager, receiver, clean_redis, django_capture_on_commit_callbacks):
    _destination(receiver.url, ("price_cross", {"ticker": "005930", "level": 75000, "direction": "above"}))

    def quote(price: int, at: str) -> None:
        clean_redis.hset(quotes_key(), "005930", json.dumps({"ticker": "005930", "price": price,
                                                              "as_of": f"2026-06-12T{at}+09:00"}))
        with django_capture_on_commit_callbacks(execute=True):
            tasks.check_price_alerts()

    quote(74000, "09:00:00")  # first look: notes the side only
    quote(74500, "09:00:05")
    quote(75100, "09:00:10")  # crossed above: one alert
    quote(75300, "09:00:15")
    quote(74800, "09:00:20")  # below again: not the rule's direction
    quote(75000, "09:00:25")  # above again: a second crossing
    assert receiver.wait_for(2) and len(receiver.bodies) == 2
    assert "005930 75,100원: 75,000원 상향 돌파" in receiver.bodies[0]["text"]


def test_the_admin_test_button_sends_a_test_message(eager, receiver, django_capture_on_commit_callbacks):
    admin_user = get_user_model().objects.create_superuser("root", password="pw-12345678")
    destination = _destination(receiver.url)
    client = Client()
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/admin/alerts/alertdestination/{destination.pk}/test/")
    assert response.status_code == 302
    assert receiver.wait_for(1) and "테스트 메시지" in receiver.bodies[0]["text"]
    log = client.get(response["Location"])
    assert log.status_code == 200 and "테스트 메시지" in log.content.decode()


def test_webhook_bodies_are_signed_when_a_secret_is_set(eager, receiver, django_capture_on_commit_callbacks):
    import hashlib
    import hmac

    from stockgate.alerts.events import record_test

    destination = _destination(receiver.url, secret="s3cret")
    with django_capture_on_commit_callbacks(execute=True):
        record_test(destination)
    receiver.wait_for(1)
    signature = receiver.headers[0]["X-Stockgate-Signature"]
    body = json.dumps(receiver.bodies[0], ensure_ascii=False).encode()
    assert signature == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
