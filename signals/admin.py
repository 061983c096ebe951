from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html, format_html_join

from signals.models import ScanRun, Signal, SignalOutcome
from signals.scans.service import ScanError, ScanRequest
from signals.tasks import queue_scan


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = ("signal_date", "ticker", "name", "market", "grade", "score", "entry_price",
                    "target_price", "stop_loss", "position_size", "outcome_short", "reasons_short")
    list_filter = ("grade", "market", "signal_type", "signal_date")
    search_fields = ("ticker", "name")
    date_hierarchy = "signal_date"
    readonly_fields = ("reasons_list", "footprint_summary", "created_at", "updated_at")
    raw_id_fields = ("scan_run",)
    list_per_page = 100
    list_select_related = ("outcome",)

    @admin.display(description="outcome")
    def outcome_short(self, obj: Signal) -> str:
        outcome = getattr(obj, "outcome", None)
        if outcome is None:
            return "-"
        r = "" if outcome.r_multiple is None else f" {outcome.r_multiple:+.2f}R"
        return f"{outcome.get_status_display()}{r}"

    @admin.display(description="reasons")
    def reasons_list(self, obj: Signal) -> str:
        items = format_html_join("", "<li>{}</li>", ((r,) for r in obj.reasons_in(_language())))
        return format_html("<ul style='margin:0;padding-left:1.2em'>{}</ul>", items) if items else "-"

    @admin.display(description="reasons")
    def reasons_short(self, obj: Signal) -> str:
        # The first three say what the setup is (trend, RS, contractions); the rest are in the detail.
        reasons = obj.reasons_in(_language())
        text = " · ".join(reasons[:3])
        return text + (" …" if len(reasons) > 3 else "")

    @admin.display(description="footprint")
    def footprint_summary(self, obj: Signal) -> str:
        fp = obj.footprint or {}
        if not fp:
            return "-"
        depths = " → ".join(f"{d:g}%" for d in fp.get("depths", []))
        return format_html(
            "base {} sessions from {} · depths {} · pivot {} · volume 10d/50d {}",
            fp.get("base_length", "?"), fp.get("base_start", "?"), depths or "-",
            f"{fp['pivot']:,}" if isinstance(fp.get("pivot"), int) else "?", fp.get("volume_ratio", "?"),
        )


@admin.register(ScanRun)
class ScanRunAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "trading_date", "status", "universe_count", "trend_template_count",
                    "signal_count", "duration_ms", "triggered_by", "error_short")
    list_filter = ("status", "triggered_by", "trading_date")
    readonly_fields = ("created_at", "started_at", "finished_at", "duration_ms", "error")
    actions = ("scan_again",)
    change_list_template = "admin/signals/scanrun/change_list.html"

    @admin.display(description="error")
    def error_short(self, obj: ScanRun) -> str:
        return (obj.error or "")[:80]

    def get_urls(self):  # type: ignore[no-untyped-def]
        custom = [
            path("scan-now/", self.admin_site.admin_view(self.scan_now_view), name="signals_scanrun_scan_now"),
        ]
        return custom + super().get_urls()

    def scan_now_view(self, request: HttpRequest) -> HttpResponse:
        """The "Scan now" button: queue a whole-market scan of the latest bars."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request) and not self.has_change_permission(request):
            messages.error(request, "You may not start scans.")
        else:
            run = queue_scan(ScanRequest(triggered_by=f"admin:{request.user.get_username()}"))
            messages.success(request, f"Scan #{run.pk} queued; this list shows its status.")
        return HttpResponseRedirect(reverse("admin:signals_scanrun_changelist"))

    @admin.action(description="Scan again with the selected runs' parameters")
    def scan_again(self, request: HttpRequest, queryset: QuerySet[ScanRun]) -> None:
        queued = []
        for previous in queryset:
            try:
                params = {k: v for k, v in (previous.parameters or {}).items() if k in ("market", "top_n", "min_score", "date")}
                request_ = ScanRequest.from_parameters(params, triggered_by=f"admin:{request.user.get_username()}")
            except (ScanError, ValueError, TypeError) as exc:
                messages.error(request, f"Scan #{previous.pk}: {exc}")
                continue
            queued.append(queue_scan(request_).pk)
        if queued:
            messages.success(request, f"Queued scan(s) {', '.join(f'#{pk}' for pk in queued)}.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are made by scans, not typed in


def _language() -> str:
    # The admin's language (Korean unless switched); reasons render from the stored codes.
    return "en" if (translation.get_language() or "ko").startswith("en") else "ko"


@admin.register(SignalOutcome)
class SignalOutcomeAdmin(admin.ModelAdmin):
    list_display = ("signal", "status", "fill_date", "fill_price", "exit_date", "exit_price", "gap", "r_multiple",
                    "mfe_r", "mae_r", "days_held", "last_date", "updated_at")
    list_filter = ("status", "gap", "signal__grade", "signal__market", "exit_date")
    search_fields = ("signal__ticker", "signal__name")
    raw_id_fields = ("signal",)
    readonly_fields = ("updated_at",)
    list_select_related = ("signal",)
    list_per_page = 100
    actions = ("resolve_again",)

    @admin.action(description="Resolve the open signals again on the stored bars")
    def resolve_again(self, request: HttpRequest, queryset: QuerySet[SignalOutcome]) -> None:
        from signals.outcomes.service import update_outcomes

        messages.success(request, update_outcomes().summary())
