"""Alerts traders subscribe to: where to send (destination), what to send (rules), and
a log of every message (delivery).

A delivery is unique per destination and event key, so an event seen twice (a row saved
again, a task delivered twice) is sent once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class DestinationKind(models.TextChoices):
    TELEGRAM = "telegram", "Telegram"
    SLACK = "slack", "Slack webhook"
    WEBHOOK = "webhook", "Webhook (JSON)"


class EventKind(models.TextChoices):
    GATE_COLOUR = "gate_colour", "게이트 색 변경"
    SIGNAL_GRADE = "signal_grade", "새 신호 (등급 이상)"
    PRICE_CROSS = "price_cross", "가격 돌파"
    SIGNAL_OUTCOME = "signal_outcome", "신호 목표가/손절가 도달"
    TEST = "test", "테스트"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "대기"
    SENT = "sent", "전송"
    FAILED = "failed", "실패"


class AlertDestination(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_destinations")
    created_by_token = models.ForeignKey("apitokens.ApiToken", null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="+")
    name = models.CharField("이름", max_length=100)
    kind = models.CharField("종류", max_length=10, choices=DestinationKind.choices)
    url = models.URLField("URL", max_length=500, blank=True, help_text="Slack incoming webhook or your webhook")
    chat_id = models.CharField("Telegram chat id", max_length=64, blank=True)
    secret = models.CharField("서명 키", max_length=128, blank=True,
                              help_text="webhook only: the body is signed with HMAC-SHA256 (X-Stockgate-Signature)")
    language = models.CharField("언어", max_length=2, choices=settings.LANGUAGES, default="ko")
    min_interval_seconds = models.FloatField("최소 간격(초)", default=1.0,
                                             help_text="at most one message per this many seconds")
    active = models.BooleanField("사용", default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["owner_id", "name", "id"]
        verbose_name = "알림 대상"
        verbose_name_plural = "알림 대상"

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def to_data(self) -> dict[str, Any]:
        return {
            "id": self.pk, "name": self.name, "kind": self.kind, "url": self.url, "chat_id": self.chat_id,
            "language": self.language, "min_interval_seconds": self.min_interval_seconds, "active": self.active,
            "signed": bool(self.secret),
            "events": [rule.to_data() for rule in self.rules.all()],
        }


class AlertRule(models.Model):
    destination = models.ForeignKey(AlertDestination, on_delete=models.CASCADE, related_name="rules")
    event = models.CharField("이벤트", max_length=16, choices=[c for c in EventKind.choices if c[0] != "test"])
    # signal_grade: {"min_grade": "A"}; price_cross: {"ticker": "005930", "level": 75000, "direction": "above"}
    params = models.JSONField("조건", default=dict, blank=True)
    # price_cross: the side of the level the price was last seen on
    state = models.JSONField(default=dict, blank=True, editable=False)
    active = models.BooleanField("사용", default=True)

    class Meta:
        ordering = ["destination_id", "id"]
        verbose_name = "알림 조건"
        verbose_name_plural = "알림 조건"

    def __str__(self) -> str:
        return f"{self.get_event_display()} {self.params or ''}".strip()

    def to_data(self) -> dict[str, Any]:
        return {"id": self.pk, "event": self.event, **self.params, "active": self.active}


class AlertDelivery(models.Model):
    destination = models.ForeignKey(AlertDestination, on_delete=models.CASCADE, related_name="deliveries")
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries")
    event = models.CharField(max_length=16, choices=EventKind.choices)
    event_key = models.CharField(max_length=200)
    text = models.TextField()
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING,
                              db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "알림 전송 기록"
        verbose_name_plural = "알림 전송 기록"
        constraints = [
            models.UniqueConstraint(fields=["destination", "event_key"], name="alert_delivery_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.destination} {self.event} {self.status}"
