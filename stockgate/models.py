"""Operational state shared by every process: task heartbeats."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class TaskHeartbeat(models.Model):
    """Written by each periodic task when it finishes; the watchdog reads it."""

    task = models.CharField(max_length=200, primary_key=True)
    last_success = models.DateTimeField(null=True, blank=True)
    last_finished = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    runs = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.task} @ {self.last_finished:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def beat(cls, task: str, *, error: str = "") -> None:
        now = timezone.now()
        defaults: dict[str, object] = {"last_finished": now, "last_error": error}
        if not error:
            defaults["last_success"] = now
        obj, created = cls.objects.update_or_create(task=task, defaults=defaults)
        cls.objects.filter(pk=obj.pk).update(runs=models.F("runs") + 1)


class WatchdogIncident(models.Model):
    """One row per lateness incident of a subject ("beat" or a periodic task's name).

    At most one open incident per subject (a partial unique constraint), so however many
    processes run the watchdog, an incident is opened, alerted and closed exactly once.
    """

    subject = models.CharField(max_length=200)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject"], condition=models.Q(closed_at__isnull=True), name="watchdog_one_open_incident"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} late since {self.opened_at:%Y-%m-%d %H:%M:%S}"
