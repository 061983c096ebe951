from __future__ import annotations

from django.contrib import admin

from stockgate.models import TaskHeartbeat


@admin.register(TaskHeartbeat)
class TaskHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("task", "last_success", "last_finished", "runs", "last_error")
    search_fields = ("task",)
    readonly_fields = ("task", "last_success", "last_finished", "runs", "last_error")
