"""Alerts go to a Slack- or Telegram-compatible webhook; a dead webhook never raises."""

from __future__ import annotations

from stockgate.ops.webhook import payload_for, send_alert
from tests.services import WebhookReceiver


def test_slack_style_webhooks_get_a_text_field() -> None:
    assert payload_for("https://hooks.slack.com/services/T/B/X", "hi") == {"text": "hi"}


def test_telegram_send_message_gets_the_chat_id_from_the_url() -> None:
    url = "https://api.telegram.org/bot123:abc/sendMessage?chat_id=-10042"
    assert payload_for(url, "hi") == {"text": "hi", "chat_id": "-10042"}


def test_alert_is_posted_as_json() -> None:
    receiver = WebhookReceiver()
    try:
        assert send_alert("스케줄러 지연", url=receiver.url) is True
        assert receiver.bodies == [{"text": "스케줄러 지연"}]
    finally:
        receiver.close()


def test_unreachable_webhook_is_logged_not_raised(caplog) -> None:  # type: ignore[no-untyped-def]
    assert send_alert("x", url="http://127.0.0.1:9/unreachable", timeout=1) is False
    assert any("alert webhook failed" in r.getMessage() for r in caplog.records)


def test_no_webhook_configured_sends_nothing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WATCHDOG_ALERT_WEBHOOK_URL = ""
    assert send_alert("x") is False
