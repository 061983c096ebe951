"""Alert destinations with their rules, a test-message button, and the delivery log."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from stockgate.alerts.events import record_test
from stockgate.alerts.models import AlertDelivery, AlertDestination, AlertRule
from stockgate.alerts.rules import clean_rule
from stockgate.alerts.transports import BadDestination, check_destination


class AlertRuleInline(admin.TabularInline):
    model = AlertRule
    extra = 1
    fields = ("event", "params", "active")

    def get_formset(self, request, obj=None, **kwargs):  # type: ignore[no-untyped-def]
        formset = super().get_formset(request, obj, **kwargs)
        form = formset.form
        original_clean = form.clean

        def clean(form_self):  # type: ignore[no-untyped-def]
            data = original_clean(form_self)
            if data.get("event") and not data.get("DELETE"):
                try:
                    data["params"] = clean_rule(data["event"], data.get("params") or {})
                except ValueError as exc:
                    raise ValidationError(str(exc)) from exc
            return data

        form.clean = clean
        return formset


class AlertDestinationForm(forms.ModelForm):
    url = forms.URLField(label="URL", required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = AlertDestination
        fields = "__all__"

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        candidate = AlertDestination(kind=data.get("kind", ""), url=data.get("url", ""), chat_id=data.get("chat_id", ""))
        try:
            check_destination(candidate)
        except BadDestination as exc:
            raise ValidationError(str(exc)) from exc
        return data


@admin.register(AlertDestination)
class AlertDestinationAdmin(admin.ModelAdmin):
    form = AlertDestinationForm
    list_display = ("name", "owner", "kind", "language", "active", "test_button")
    list_filter = ("kind", "active")
    search_fields = ("name", "owner__username", "url", "chat_id")
    inlines = [AlertRuleInline]
    actions = ["send_test"]
    readonly_fields = ("created_by_token", "created_at", "test_button")

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path("<int:pk>/test/", self.admin_site.admin_view(self.test_view), name="alerts_alertdestination_test"),
            *super().get_urls(),
        ]

    @admin.display(description="테스트")
    def test_button(self, obj: AlertDestination) -> str:
        if obj.pk is None:
            return "-"
        return format_html('<a class="button" href="{}">테스트 메시지 보내기</a>',
                           reverse("admin:alerts_alertdestination_test", args=[obj.pk]))

    def test_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        destination = get_object_or_404(AlertDestination, pk=pk)
        if not self.has_change_permission(request, destination):
            return HttpResponse(status=403)
        record_test(destination)
        messages.success(request, f"테스트 메시지를 보냈습니다: {destination} (전송 기록에서 결과 확인)")
        return HttpResponseRedirect(reverse("admin:alerts_alertdelivery_changelist") + f"?destination__id__exact={pk}")

    @admin.action(description="선택한 대상에 테스트 메시지 보내기")
    def send_test(self, request: HttpRequest, queryset: QuerySet[AlertDestination]) -> None:
        for destination in queryset:
            record_test(destination)
        self.message_user(request, f"{queryset.count()}개 대상에 테스트 메시지를 보냈습니다.")


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "destination", "event", "status", "attempts", "sent_at", "short_text", "last_error")
    list_filter = ("status", "event", "destination")
    search_fields = ("text", "event_key", "last_error")
    readonly_fields = [f.name for f in AlertDelivery._meta.fields]

    @admin.display(description="내용")
    def short_text(self, obj: AlertDelivery) -> str:
        return obj.text[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AlertDelivery | None = None) -> bool:
        return False
