"""stockgate settings. Deploy facts come from the environment; tuning values (limits,
periods, thresholds: `tuned(...)`) are defined with their defaults and reasons in
stockgate/tuning.py, imported below, and overridden together through one JSON
variable, STOCKGATE_TUNING.

Every environment variable is listed in the README with its default. Defaults make a
fresh checkout run on embedded parts (SQLite, the Redis the run command starts, demo
data).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff

from stockgate.dburl import parse_database_url
from stockgate.env import env, envbool, envfloat, envint, envlist
from stockgate.secret_key import weakness as secret_key_weakness

# Every tuning value by its name (tuning.__all__), and TUNING_DEFAULTS; an unknown name
# in STOCKGATE_TUNING stops the start there.
from stockgate.tuning import *  # noqa: F403
from stockgate.tuning import REDIS_MAX_CONNECTIONS

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("STOCKGATE_VAR_DIR", str(BASE_DIR / "var")))

DEFAULT_SECRET_KEY = "insecure-development-key-change-me"
# scripts/run.py keeps a generated key in var/secret_key: every manage.py of that
# checkout uses it too (no W002 warning on each command in development).
_KEY_FILE = VAR_DIR / "secret_key"
_DEV_KEY = _KEY_FILE.read_text().strip() if env("STOCKGATE_ENV", "development") != "production" and _KEY_FILE.is_file() else ""
SECRET_KEY = env("SECRET_KEY", "") or _DEV_KEY or DEFAULT_SECRET_KEY
DEBUG = envbool("DEBUG", False)
# "production" turns the unsafe-combination checks from warnings into errors.
STOCKGATE_ENV = env("STOCKGATE_ENV", "development")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
VERSION = "0.1.0"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_celery_beat",
    "stockgate",
    "marketgate",
    "signals",
    "stockgate.apitokens",
    "stockgate.alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "stockgate.apitokens.middleware.BearerTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "stockgate.urls"
ASGI_APPLICATION = "stockgate.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'stockgate.sqlite3'}")
DATABASES = {"default": parse_database_url(DATABASE_URL, BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The run command starts an embedded Redis on this port when REDIS_URL is unset, with the
# password it keeps in var/redis_password (read here too, like the key, outside production).
EMBEDDED_REDIS_PORT = envint("EMBEDDED_REDIS_PORT", 6399)
_REDIS_PASSWORD_FILE = VAR_DIR / "redis_password"
_EMBEDDED_AUTH = (
    f":{quote(_REDIS_PASSWORD_FILE.read_text().strip(), safe='')}@"
    if env("STOCKGATE_ENV", "development") != "production" and _REDIS_PASSWORD_FILE.is_file()
    else ""
)
REDIS_URL = env("REDIS_URL", f"redis://{_EMBEDDED_AUTH}127.0.0.1:{EMBEDDED_REDIS_PORT}/0")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", "한국어"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Both folders are created at start-up (StockgateConfig.ready): whitenoise expects
# STATIC_ROOT to exist, and an absent chart library means no charts, not a warning.
STATIC_ROOT = VAR_DIR / "staticfiles"
# var/vendor holds the charting library fetched by scripts/vendor.py (served as /static/vendor/...).
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor", VAR_DIR / "vendor")]
# Serve straight from the app/static folders, so no collectstatic step is needed to run.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/admin/login/"

# --- security headers (production hardening; harmless in development) ---
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# "Behind a TLS proxy": the proxy terminates HTTPS and says so in X-Forwarded-Proto.
BEHIND_TLS_PROXY = envbool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
# Production defaults are the safe ones: cookies only over HTTPS, and a year of HSTS once
# the site is served over HTTPS (browsers ignore the header on plain HTTP). A production
# site on plain HTTP sets SECURE_COOKIES=false explicitly (the deployment check warns).
_PRODUCTION = env("STOCKGATE_ENV", "development") == "production"
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", _PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000 if _PRODUCTION and BEHIND_TLS_PROXY else 0)

# --- channel layer and realtime transport ---
# Keys live in REDIS_URL's database, but pub/sub channels are one namespace for the whole
# Redis server: deployments on different databases of one server would receive each
# other's frames under one channel prefix. The default prefix therefore names the
# database (database 0 keeps the plain prefix, so existing deployments keep their channels).
def default_channel_prefix(redis_url: str) -> str:
    from urllib.parse import parse_qs, urlparse

    parsed = urlparse(redis_url)
    db = parse_qs(parsed.query).get("db", [parsed.path.strip("/") or "0"])[0]
    return "stockgate" if db in ("", "0") else f"stockgate-db{db}"


# Every push is a group_send on this layer: channels-redis's pub/sub layer, with group
# messages decoded once per process and handed to attached consumers without a task
# wakeup per socket (stockgate/realtime/layer.py). After a Redis restart every pooled
# connection is dead; the retries let the next command reconnect instead of failing.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "stockgate.realtime.layer.BroadcastChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "max_connections": REDIS_MAX_CONNECTIONS,
                    "socket_connect_timeout": 5,
                    "retry": AsyncRetry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), 3),
                }
            ],
            "prefix": env("CHANNEL_PREFIX", default_channel_prefix(REDIS_URL)),
        },
    }
}
# Redis key prefix of the topics' seq/epoch/history (the frames' stamps).
REALTIME_PREFIX = env("REALTIME_PREFIX", "stockgate")
# The server's ping period, and how long a silent client is kept (the page reads both).
WS_HEARTBEAT_SECONDS = envfloat("WS_HEARTBEAT_SECONDS", 25.0)
WS_IDLE_TIMEOUT_SECONDS = envfloat("WS_IDLE_TIMEOUT_SECONDS", 60.0)
# topic prefix -> "authenticated" | "staff" | a permission codename ("app.codename").
WS_TOPIC_PERMISSIONS: dict[str, str] = {
    k: v for k, v in (item.split("=", 1) for item in envlist("WS_TOPIC_PERMISSIONS", []))
}
WS_ALLOWED_ORIGINS = envlist("WS_ALLOWED_ORIGINS", [])

# --- Celery ---
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "celery")
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
# Tasks are idempotent (unique keys + upserts), so a task lost with its worker is
# redelivered rather than dropped.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# ... but not for ever: TASK_MAX_DELIVERIES (tuning.py). Time limits, beat's loop
# interval and eager mode are tuning values too.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- Market data and the gate ---
MARKET_DATA_PROVIDER = env("MARKET_DATA_PROVIDER", "demo")
MARKET_DATA_PROVIDERS = {
    "demo": "marketgate.data.providers.demo.provider.DemoProvider",
    "fdr": "marketgate.data.providers.fdr.FdrProvider",
    "csv": "marketgate.data.providers.csvfiles.CsvProvider",
}
# Folder the `csv` provider reads (files in the import_bars format).
MARKET_DATA_CSV_DIR = Path(env("MARKET_DATA_CSV_DIR", str(VAR_DIR / "csv")))
# The bar cache's files (marketgate/data/bar_cache.py; BAR_CACHE_SESSIONS in tuning.py).
BAR_CACHE_DIR = VAR_DIR / "cache"

LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}

# `manage.py check` reports these as system-check errors (stockgate/checks.py) instead, so
# one run lists every problem of a deployment rather than stopping at the first.
if STOCKGATE_ENV == "production" and sys.argv[1:2] != ["check"]:
    # Refuse to start rather than run exposed: these are errors, not warnings.
    from django.core.exceptions import ImproperlyConfigured

    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when STOCKGATE_ENV=production")
    _weak = secret_key_weakness(SECRET_KEY)
    if _weak:
        raise ImproperlyConfigured(
            f"{_weak}. Set SECRET_KEY to a random value when STOCKGATE_ENV=production, e.g. the output of "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )

# --- live prices ---
# The upstream quote feed `manage.py stream_prices` holds, by its registered name:
# "demo" (the simulator's intraday ticks), "kis" (Korea Investment & Securities Open
# API), "kiwoom" (Kiwoom REST API), or a plugin's (marketgate/feeds/registry.py).
PRICE_FEED = env("PRICE_FEED", "demo")
# Tickers registered upstream even with no subscriber (their bars are always stored).
PRICE_WATCHLIST = envlist("PRICE_WATCHLIST", ["005930", "000660"])
# Broker credentials, for PRICE_FEED=kis or kiwoom (their endpoints: tuning.py).
KIS_APP_KEY = env("KIS_APP_KEY", "")
KIS_APP_SECRET = env("KIS_APP_SECRET", "")
KIWOOM_APP_KEY = env("KIWOOM_APP_KEY", "")
KIWOOM_SECRET_KEY = env("KIWOOM_SECRET_KEY", "")

# --- operations ---
# The deployed commit, shown by /readyz (set at image build; else read from .git).
STOCKGATE_COMMIT = env("STOCKGATE_COMMIT", "")
# The apps' checks in /readyz, by dotted path (the project package imports no app).
HEALTH_CHECKS = {
    "gate": "marketgate.health.check_gate",
    "feed": "marketgate.health.check_feed",
}
# A deployment without the price feed process sets this off; its state is still shown.
HEALTH_REQUIRE_FEED = envbool("HEALTH_REQUIRE_FEED", True)
# Slack-compatible incoming webhook, or a Telegram sendMessage URL with ?chat_id=.
WATCHDOG_ALERT_WEBHOOK_URL = env("WATCHDOG_ALERT_WEBHOOK_URL", "")
# Trader alerts (alerts app): the bot that sends Telegram alerts.
ALERTS_TELEGRAM_BOT_TOKEN = env("ALERTS_TELEGRAM_BOT_TOKEN", "")
# /metrics: when set, scrapes must send `Authorization: Bearer <token>`.
METRICS_TOKEN = env("METRICS_TOKEN", "")
# prometheus_client writes each process's samples here (uvicorn --workers N); created at start-up.
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", "")
