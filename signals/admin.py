from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html_join

from signals.models import ScanRun, Signal


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = ("signal_date", "ticker", "name", "market", "grade", "score", "entry_price",
                    "target_price", "stop_loss", "position_size")
    list_filter = ("grade", "market", "signal_type", "signal_date")
    search_fields = ("ticker", "name")
    date_hierarchy = "signal_date"
    readonly_fields = ("reasons_list", "created_at", "updated_at")
    raw_id_fields = ("scan_run",)

    @admin.display(description="reasons")
    def reasons_list(self, obj: Signal) -> str:
        return format_html_join("", "<li>{}</li>", ((r,) for r in obj.reasons or [])) or "-"


@admin.register(ScanRun)
class ScanRunAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "trading_date", "status", "universe_count", "trend_template_count",
                    "signal_count", "duration_ms", "triggered_by")
    list_filter = ("status", "triggered_by")
    readonly_fields = ("created_at", "started_at", "finished_at", "duration_ms", "error")
