"""VCP signals and the scan runs that produce them."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from signals.scanner.results import PLAN_FIELDS


class Grade(models.TextChoices):
    S = "S", "S"
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class ScanStatus(models.TextChoices):
    # Labels through i18n: admin shows them in the operator's language.
    QUEUED = "queued", _("대기")
    RUNNING = "running", _("실행 중")
    SUCCEEDED = "succeeded", _("완료")
    FAILED = "failed", _("실패")


class ScanRun(models.Model):
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    trading_date = models.DateField(null=True, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ScanStatus.choices, default=ScanStatus.QUEUED)
    universe_count = models.IntegerField(default=0)
    trend_template_count = models.IntegerField(default=0)
    signal_count = models.IntegerField(default=0)
    duration_ms = models.IntegerField(null=True, blank=True)
    triggered_by = models.CharField(max_length=32, default="schedule")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"scan #{self.pk} {self.trading_date} {self.status}"

    def to_data(self) -> dict[str, Any]:
        local = timezone.localtime
        return {
            "id": self.pk,
            "status": self.status,
            "trading_date": self.trading_date.isoformat() if self.trading_date else None,
            "parameters": self.parameters,
            "created_at": local(self.created_at).isoformat(),
            "started_at": local(self.started_at).isoformat() if self.started_at else None,
            "finished_at": local(self.finished_at).isoformat() if self.finished_at else None,
            "universe_count": self.universe_count,
            "trend_template_count": self.trend_template_count,
            "signal_count": self.signal_count,
            "duration_ms": self.duration_ms,
            "error": self.error,
        }


class SignalQuerySet(models.QuerySet["Signal"]):
    def for_date(self, day: date, signal_type: str = "VCP") -> SignalQuerySet:
        return (
            self.filter(signal_date=day, signal_type=signal_type).select_related("outcome").order_by("-score", "ticker")
        )

    def latest_date(self, signal_type: str = "VCP") -> date | None:
        return (
            self.filter(signal_type=signal_type).order_by("-signal_date").values_list("signal_date", flat=True).first()
        )


class Signal(models.Model):
    ticker = models.CharField(max_length=6, db_index=True)
    name = models.CharField(max_length=100)
    market = models.CharField(max_length=8, db_index=True)
    signal_type = models.CharField(max_length=16, default="VCP")
    score = models.PositiveSmallIntegerField()
    grade = models.CharField(max_length=1, choices=Grade.choices, db_index=True)
    entry_price = models.BigIntegerField()
    target_price = models.BigIntegerField()
    stop_loss = models.BigIntegerField()
    position_size = models.IntegerField(help_text="shares; 0 when the gate makes the signal watch-only")
    # English text of the reasons (as the scanner printed them); `reason_codes` is the
    # language-neutral form (code + parameters) every language is rendered from.
    reasons = models.JSONField(default=list, blank=True)
    reason_codes = models.JSONField(default=list, blank=True)
    footprint = models.JSONField(default=dict, blank=True)
    signal_date = models.DateField(db_index=True)
    scan_run = models.ForeignKey(ScanRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="signals")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SignalQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticker", "signal_type", "signal_date"], name="signal_unique_per_day")
        ]
        ordering = ["-signal_date", "-score", "ticker"]

    def __str__(self) -> str:
        return f"{self.signal_date} {self.ticker} {self.grade} {self.score}"

    def reasons_in(self, lang: str) -> list[str]:
        """The reasons in `lang` ("ko" or "en"), from the codes; rows without codes keep their text."""
        from signals.scanner.reason_text import render_all

        return render_all(self.reason_codes, lang) if self.reason_codes else list(self.reasons)

    def to_message(self) -> dict[str, Any]:
        """One entry of `signal_update.data.signals` (protocol.md, fixed). `reasons` is in the
        default language (Korean), `reasons_en` in English, `reason_codes` the stored codes."""
        from django.conf import settings

        return {
            **{name: getattr(self, name) for name in PLAN_FIELDS},
            "reasons": self.reasons_in(settings.LANGUAGE_CODE),
            "reasons_en": self.reasons_in("en"),
            "reason_codes": self.reason_codes,
            "signal_date": self.signal_date.isoformat(),
            "created_at": timezone.localtime(self.created_at).isoformat(),
            "outcome": self.outcome_message(),
        }

    def outcome_message(self) -> dict[str, Any] | None:
        """The signal's outcome for the wire; None until the first bars after it are read."""
        try:
            return self.outcome.to_message()
        except SignalOutcome.DoesNotExist:
            return None


class OutcomeStatus(models.TextChoices):
    PENDING = "pending", "체결 대기"
    EXPIRED = "expired", "미체결 만료"
    OPEN = "open", "보유 중"
    TARGET = "target", "목표가 도달"
    STOP = "stop", "손절"


class SignalOutcome(models.Model):
    """What the sessions after a signal made of it (signals/outcomes/rules.py)."""

    signal = models.OneToOneField(Signal, on_delete=models.CASCADE, primary_key=True, related_name="outcome")
    status = models.CharField(max_length=8, choices=OutcomeStatus.choices, default=OutcomeStatus.PENDING,
                              db_index=True)
    sessions_seen = models.PositiveIntegerField(default=0, help_text="clean sessions after the signal date")
    fill_date = models.DateField(null=True, blank=True)
    fill_price = models.FloatField(null=True, blank=True)
    exit_date = models.DateField(null=True, blank=True, db_index=True)
    exit_price = models.FloatField(null=True, blank=True)
    gap = models.BooleanField(default=False, help_text="exited at a gapping open")
    last_date = models.DateField(null=True, blank=True)
    last_close = models.FloatField(null=True, blank=True)
    r_multiple = models.FloatField(null=True, blank=True, help_text="R at the exit, or marked to market while open")
    mfe_r = models.FloatField(null=True, blank=True, help_text="max favourable excursion, R")
    mae_r = models.FloatField(null=True, blank=True, help_text="max adverse excursion, R")
    days_held = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-signal__signal_date"]

    def __str__(self) -> str:
        return f"{self.signal} {self.status}"

    def to_message(self) -> dict[str, Any]:
        """The `outcome` object of a `signal_update` row."""
        def day(value: date | None) -> str | None:
            return value.isoformat() if value else None

        def num(value: float | None, digits: int = 2) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "status": self.status,
            "fill_date": day(self.fill_date),
            "fill_price": num(self.fill_price),
            "exit_date": day(self.exit_date),
            "exit_price": num(self.exit_price),
            "gap": self.gap,
            "r_multiple": num(self.r_multiple),
            "mfe_r": num(self.mfe_r),
            "mae_r": num(self.mae_r),
            "days_held": self.days_held,
            "last_date": day(self.last_date),
            "last_close": num(self.last_close),
        }
