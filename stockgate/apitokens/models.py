"""API tokens for scripts and cron jobs: `Authorization: Bearer <token>`.

Only a SHA-256 digest of the token is stored; the token itself is shown once, when it
is created (admin or `manage.py create_api_token`). A token acts as its user, limited
to its scopes, until it is revoked or expires.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "sg_"
SCOPES = ("scan", "read", "alerts")
# last_used_at is written at most this often per token (a busy script must not turn
# every request into a write).
LAST_USED_RESOLUTION = timedelta(seconds=60)


def digest(raw: str) -> str:
    # The token carries 256 random bits, so a plain hash is as strong as a slow one here.
    return hashlib.sha256(raw.encode()).hexdigest()


def clean_scopes(scopes: str | list[str] | tuple[str, ...]) -> list[str]:
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    cleaned = sorted({s.strip().lower() for s in items if s.strip()})
    unknown = [s for s in cleaned if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    if not cleaned:
        raise ValueError(f"a token needs at least one scope among {', '.join(SCOPES)}")
    return cleaned


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, user__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("이름", max_length=100, help_text="what the token is for, e.g. 'nightly scan cron'")
    key_prefix = models.CharField("앞자리", max_length=12, editable=False, help_text="to recognise a token in logs")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField("권한", default=list, help_text=f"any of {', '.join(SCOPES)}")
    created_at = models.DateTimeField("생성", default=timezone.now)
    expires_at = models.DateTimeField("만료", null=True, blank=True)
    last_used_at = models.DateTimeField("마지막 사용", null=True, blank=True)
    revoked_at = models.DateTimeField("폐기", null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API 토큰"
        verbose_name_plural = "API 토큰"

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…, {self.user})"

    @classmethod
    def issue(cls, user: models.Model, name: str, scopes: str | list[str], expires_at=None) -> tuple[ApiToken, str]:  # type: ignore[no-untyped-def]
        """Create a token; returns the row and the raw token (the only time it exists)."""
        cleaned = clean_scopes(scopes)
        if "scan" in cleaned and not getattr(user, "is_staff", False):
            raise ValueError(f"the scan scope needs a staff user; {user} is not staff")
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, scopes=cleaned, key_prefix=raw[:10], key_hash=digest(raw),
            expires_at=expires_at,
        )
        return token, raw

    @classmethod
    def authenticate(cls, raw: str) -> ApiToken | None:
        token = cls.objects.usable().select_related("user").filter(key_hash=digest(raw.strip())).first()
        if token is not None:
            token.touch()
        return token

    def touch(self) -> None:
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=self.revoked_at)

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())
