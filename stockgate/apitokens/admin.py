"""Tokens in admin: create one (the raw token is shown once), revoke, see last use."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from stockgate.apitokens.models import SCOPES, ApiToken, clean_scopes


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(label="권한", choices=[(s, s) for s in SCOPES],
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ["user", "name", "scopes", "expires_at"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        user, scopes = data.get("user"), data.get("scopes") or []
        if user is not None and "scan" in scopes and not user.is_staff:
            raise forms.ValidationError("the scan scope needs a staff user")
        return data


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ("name", "user", "key_prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "key_prefix")
    readonly_fields = ("key_prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return ["user", "name", "scopes", "expires_at"]
        return ["user", "name", "scopes", "expires_at", "key_prefix", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            obj.scopes = clean_scopes(form.cleaned_data["scopes"])
            super().save_model(request, obj, form, change)
            return
        token, raw = ApiToken.issue(obj.user, obj.name, form.cleaned_data["scopes"], obj.expires_at)
        obj.pk, obj.key_prefix, obj.key_hash = token.pk, token.key_prefix, token.key_hash
        obj._state.adding = False
        messages.warning(request, f"API 토큰 (한 번만 표시됩니다; 지금 복사하세요): {raw}")

    @admin.action(description="선택한 토큰 폐기 (revoke)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count}개 토큰을 폐기했습니다.")
