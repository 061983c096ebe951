"""Security settings: login for admin, CSRF, headers, secrets from env, production refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

REPO = Path(__file__).resolve().parents[1]
GOOD_KEY = "k" * 50


def boot(**env: str) -> subprocess.CompletedProcess[str]:
    """Load the production settings in a fresh interpreter, as a process start would."""
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "STOCKGATE_ENV")}
    base.update({"DJANGO_SETTINGS_MODULE": "stockgate.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=REPO, env=base, capture_output=True, text=True, timeout=60,
    )


def test_production_refuses_to_start_with_debug_on() -> None:
    result = boot(STOCKGATE_ENV="production", DEBUG="1", SECRET_KEY=GOOD_KEY)
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr and "DEBUG" in result.stderr


def test_production_refuses_to_start_with_the_default_secret_key() -> None:
    result = boot(STOCKGATE_ENV="production")
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_production_starts_with_a_real_key_and_debug_off() -> None:
    result = boot(STOCKGATE_ENV="production", SECRET_KEY=GOOD_KEY)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_secret_key_comes_from_the_environment() -> None:
    assert os.environ["SECRET_KEY"] == settings.SECRET_KEY


@pytest.mark.django_db
def test_admin_requires_login() -> None:
    response = Client().get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_admin_changelists_require_login() -> None:
    for path in ("/admin/django_celery_beat/periodictask/", "/admin/stockgate/taskheartbeat/"):
        response = Client().get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], path


@pytest.mark.django_db
def test_posts_without_a_csrf_token_are_refused() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403


def test_csrf_middleware_is_on() -> None:
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE


@pytest.mark.django_db
def test_security_headers_are_sent() -> None:
    response = Client().get("/healthz")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_http_only() -> None:
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_deployment_check_turns_the_default_key_into_an_error_in_production() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "stockgate.settings", "STOCKGATE_ENV": "development",
             "SECRET_KEY": settings.DEFAULT_SECRET_KEY},
    )
    assert "stockgate.W002" in result.stdout + result.stderr
