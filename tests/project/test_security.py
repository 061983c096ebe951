"""Security settings: login for admin, CSRF, headers, secrets from env, production refusals."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

REPO = Path(__file__).resolve().parents[2]
GOOD_KEY = secrets.token_urlsafe(48)
EXAMPLE_KEY = "change-me-to-at-least-32-random-characters-0000"  # what docker/.env.example once shipped


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


@pytest.mark.parametrize("key", [EXAMPLE_KEY, "k" * 50, "0123456789abcdef" * 4, "django-insecure-" + "x1y2z3" * 8])
def test_production_refuses_to_start_with_an_example_or_weak_key(key: str) -> None:
    result = boot(STOCKGATE_ENV="production", SECRET_KEY=key)
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_production_starts_with_a_real_key_and_debug_off() -> None:
    result = boot(STOCKGATE_ENV="production", SECRET_KEY=GOOD_KEY)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_secret_key_comes_from_the_environment() -> None:
    key = secrets.token_urlsafe(48)
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "STOCKGATE_ENV", "DEBUG")}
    script = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    for mode in ("development", "production"):
        env = {**base, "DJANGO_SETTINGS_MODULE": "stockgate.settings", "STOCKGATE_ENV": mode, "SECRET_KEY": key}
        result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == key, mode


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


@pytest.mark.django_db
def test_csrf_middleware_guards_views_that_do_not_protect_themselves() -> None:
    # Django's set_language view has no CSRF decorator of its own: only the middleware
    # stands between it and a cross-site POST.
    client = Client(enforce_csrf_checks=True)
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 403
    client.get("/")  # the page's language form sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


@pytest.mark.django_db
def test_security_headers_are_sent() -> None:
    response = Client().get("/healthz")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_the_session_cookie_a_login_sets_is_http_only() -> None:
    from django.contrib.auth.models import User

    User.objects.create_superuser("ops", "ops@example.com", "pw-for-the-test-only")
    response = Client().post("/admin/login/?next=/admin/", {"username": "ops", "password": "pw-for-the-test-only"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie.value and cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def deploy_check(**env: str) -> subprocess.CompletedProcess[str]:
    # As a deployment would run it: without what the browser tests set for themselves.
    unset = ("DEBUG", "SECRET_KEY", "STOCKGATE_ENV", "DJANGO_ALLOW_ASYNC_UNSAFE")
    base = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**base, "DJANGO_SETTINGS_MODULE": "stockgate.settings", **env},
    )


def test_the_default_key_is_an_error_in_production_and_a_warning_in_development() -> None:
    production = deploy_check(STOCKGATE_ENV="production", SECRET_KEY=settings.DEFAULT_SECRET_KEY)
    assert production.returncode != 0
    assert "SECRET_KEY" in production.stderr  # refused at start-up, or the check's stockgate.E002
    development = deploy_check(STOCKGATE_ENV="development", SECRET_KEY=settings.DEFAULT_SECRET_KEY)
    assert development.returncode == 0, development.stderr  # a warning does not fail the check
    assert "stockgate.W002" in development.stdout + development.stderr


def test_the_deployment_check_reports_the_default_key_as_an_error_in_production(settings) -> None:
    # The settings refuse the default key at start-up in production; the check says the
    # same for a key that reaches it another way (settings changed after start-up).
    from django.core.checks import ERROR

    from stockgate.checks import check_deployment

    settings.STOCKGATE_ENV = "production"
    settings.SECRET_KEY = settings.DEFAULT_SECRET_KEY
    settings.DEBUG = False
    (issue,) = [i for i in check_deployment() if "SECRET_KEY" in i.msg]
    assert issue.id == "stockgate.E002" and issue.level == ERROR


# A production deployment with everything right: behind a TLS proxy, defaults left alone.
SAFE_PRODUCTION = {
    "STOCKGATE_ENV": "production", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "stockgate.example.com",
    "BEHIND_TLS_PROXY": "true", "CSRF_TRUSTED_ORIGINS": "https://stockgate.example.com",
    "SECURE_COOKIES": "", "SECURE_HSTS_SECONDS": "",
}


def test_the_deployment_check_passes_a_safe_production_configuration() -> None:
    result = deploy_check(**SAFE_PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stockgate.E" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"SECRET_KEY": EXAMPLE_KEY}, "stockgate.E003"),
        ({"SECRET_KEY": "k" * 50}, "stockgate.E003"),
        ({"SECRET_KEY": "short-but-random-Zq8"}, "stockgate.E003"),
        ({"ALLOWED_HOSTS": "*"}, "stockgate.E005"),
        ({"ALLOWED_HOSTS": "stockgate.example.com,*"}, "stockgate.E005"),
        ({"SECURE_COOKIES": "false"}, "stockgate.E022"),
        ({"SECURE_COOKIES": "false"}, "stockgate.E023"),
        ({"SECURE_HSTS_SECONDS": "0"}, "stockgate.E024"),
        ({"SECURE_HSTS_SECONDS": "3600"}, "stockgate.E024"),
        ({"BEHIND_TLS_PROXY": "false"}, "stockgate.E020"),
        ({"DEBUG": "1"}, "stockgate.E001"),
    ],
)
def test_the_deployment_check_fails_in_production_on(change: dict[str, str], error: str) -> None:
    """`manage.py check --deploy --fail-level ERROR` exits non-zero naming the problem as an
    Error (one run lists every problem: the start-up refusal leaves `check` to say it)."""
    result = deploy_check(**{**SAFE_PRODUCTION, **change})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"{error})" in output and "ERRORS:" in output, output
    assert "Traceback" not in output


def test_production_without_tls_is_a_warning_not_an_error() -> None:
    plain = {**SAFE_PRODUCTION, "BEHIND_TLS_PROXY": "false", "CSRF_TRUSTED_ORIGINS": "", "SECURE_COOKIES": "false"}
    result = deploy_check(**plain)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stockgate.W021" in result.stdout + result.stderr


def test_production_defaults_are_secure_cookies_and_a_year_of_hsts_behind_a_proxy() -> None:
    script = ("import django; django.setup(); from django.conf import settings as s; "
              "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER)")
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "STOCKGATE_ENV", "SECURE_COOKIES",
                                                              "SECURE_HSTS_SECONDS", "BEHIND_TLS_PROXY")}
    env = {**base, "DJANGO_SETTINGS_MODULE": "stockgate.settings", "STOCKGATE_ENV": "production",
           "SECRET_KEY": GOOD_KEY, "BEHIND_TLS_PROXY": "true"}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-5:] == ["True", "True", "31536000", "('HTTP_X_FORWARDED_PROTO',", "'https')"]
