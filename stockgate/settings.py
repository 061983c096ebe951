"""stockgate settings: one file. Deploy facts come from the environment; tuning values are
named here with their defaults.

Every environment variable is listed in the README with its default. Tuning values
(`tuned(...)`: limits, periods, thresholds) are documented where they are defined,
below, and overridden together through one JSON variable, STOCKGATE_TUNING. Defaults
make a fresh checkout run on embedded parts (SQLite, the Redis the run command
starts, demo data).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff

from stockgate.dburl import parse_database_url
from stockgate.env import Tuning, env, envbool, envfloat, envint, envlist
from stockgate.secret_key import weakness as secret_key_weakness

tuned = Tuning(env("STOCKGATE_TUNING", ""))

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


# redis-py caps an asyncio pool at 100 connections; a burst of connects needs more.
REDIS_MAX_CONNECTIONS = tuned("REDIS_MAX_CONNECTIONS", 1000)
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
WS_MAX_FRAME_BYTES = tuned("WS_MAX_FRAME_BYTES", 64 * 1024)
# More malformed or refused frames than this in a minute: the connection is closed (1008).
WS_MAX_BAD_FRAMES_PER_MINUTE = tuned("WS_MAX_BAD_FRAMES_PER_MINUTE", 20)
# Inbound frames per second per connection (the page paces itself from this value).
WS_MAX_FRAMES_PER_SECOND = tuned("WS_MAX_FRAMES_PER_SECOND", 20)
# A client over the rate for this many consecutive seconds is closed (1008).
WS_RATE_ABUSE_SECONDS = tuned("WS_RATE_ABUSE_SECONDS", 5)
WS_MAX_SUBSCRIPTIONS = tuned("WS_MAX_SUBSCRIPTIONS", 200)
# Open sockets per web process, and per client address within it (the ASGI server's
# client address: uvicorn takes X-Forwarded-For only from FORWARDED_ALLOW_IPS). Over
# either, the socket is closed with 4029 (protocol.md). 5,000 is the fan-out measured
# in docs/benchmarks.md; 100 leaves room for an office behind one NAT address.
WS_MAX_CONNECTIONS = tuned("WS_MAX_CONNECTIONS", 5000)
WS_MAX_CONNECTIONS_PER_ADDRESS = tuned("WS_MAX_CONNECTIONS_PER_ADDRESS", 100)
# `price:` topics are accepted for listed instruments only; each web process reloads the
# tickers this often, and on an unknown ticker at most this often (catalog.py).
WS_TICKERS_REFRESH_SECONDS = tuned("WS_TICKERS_REFRESH_SECONDS", 300.0)
WS_TICKERS_MISS_REFRESH_SECONDS = tuned("WS_TICKERS_MISS_REFRESH_SECONDS", 10.0)
WS_HEARTBEAT_SECONDS = envfloat("WS_HEARTBEAT_SECONDS", 25.0)
WS_IDLE_TIMEOUT_SECONDS = envfloat("WS_IDLE_TIMEOUT_SECONDS", 60.0)
# Outgoing frames buffered per socket before it is closed as slow (4008).
WS_SEND_QUEUE_FRAMES = tuned("WS_SEND_QUEUE_FRAMES", 256)
# ...and outgoing bytes (UTF-8) buffered per socket before the same close.
WS_SEND_QUEUE_BYTES = tuned("WS_SEND_QUEUE_BYTES", 1024 * 1024)
# A topic's snapshot is reused this long while its (epoch, seq) is unchanged (one query per
# topic per process for a burst of subscribers).
WS_SNAPSHOT_CACHE_SECONDS = tuned("WS_SNAPSHOT_CACHE_SECONDS", 2.0)
# A `since` further back than this many frames is answered with a snapshot instead...
WS_REPLAY_MAX_FRAMES = tuned("WS_REPLAY_MAX_FRAMES", 200)
# ...and so is any `since` once a socket has been replayed this many frames in the last minute.
WS_REPLAY_FRAMES_PER_MINUTE = tuned("WS_REPLAY_FRAMES_PER_MINUTE", 1000)
# Sockets holding topics restricted by WS_TOPIC_PERMISSIONS re-check their session this
# often (a logout is acted on at once; this catches expiry and changed permissions).
WS_PERMISSION_RECHECK_SECONDS = tuned("WS_PERMISSION_RECHECK_SECONDS", 300.0)
# Frames kept per topic in Redis for `since` replay.
WS_HISTORY_FRAMES = tuned("WS_HISTORY_FRAMES", 500)
# A topic's epoch, seq and history keys expire this long after its last broadcast (or
# after a subscribe created its epoch), so idle topics leave Redis; the next broadcast
# starts a new epoch and clients resync from a snapshot.
WS_TOPIC_TTL_SECONDS = tuned("WS_TOPIC_TTL_SECONDS", 3600)
# topic prefix -> "authenticated" | "staff" | a permission codename ("app.codename").
WS_TOPIC_PERMISSIONS: dict[str, str] = {
    k: v for k, v in (item.split("=", 1) for item in envlist("WS_TOPIC_PERMISSIONS", []))
}
WS_ALLOWED_ORIGINS = envlist("WS_ALLOWED_ORIGINS", [])
# A /ws handshake with a session cookie: the user found for that session is reused for
# this long by the same web process (a logout applies at once everywhere; a password
# change, a deactivation or a permission change within this time). 0: look up every time.
WS_AUTH_CACHE_SECONDS = tuned("WS_AUTH_CACHE_SECONDS", 10.0)
# Each web process writes its socket counts for /ws/stats this often (and soon after a change).
WS_STATS_REPORT_SECONDS = tuned("WS_STATS_REPORT_SECONDS", 5.0)
# The per-broadcast INFO log line: at most one per price/index topic per this many seconds.
WS_BROADCAST_LOG_SECONDS = tuned("WS_BROADCAST_LOG_SECONDS", 10.0)

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
# ... but not for ever: a message whose worker was lost this many times is dropped, with
# an ERROR, a watchdog incident and an alert (stockgate/ops/deliveries.py).
TASK_MAX_DELIVERIES = tuned("TASK_MAX_DELIVERIES", 3)
TASK_DELIVERY_COUNT_TTL_SECONDS = tuned("TASK_DELIVERY_COUNT_TTL_SECONDS", 86_400)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Default task time limits, soft (the task cleans up) then hard; tasks set their own.
CELERY_TASK_SOFT_TIME_LIMIT = tuned("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = tuned("CELERY_TASK_TIME_LIMIT", 300)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# How often beat re-reads schedules from the database (admin edits apply within this).
CELERY_BEAT_MAX_LOOP_INTERVAL = tuned("CELERY_BEAT_MAX_LOOP_INTERVAL", 5)
CELERY_TASK_ALWAYS_EAGER = tuned("CELERY_TASK_ALWAYS_EAGER", False)
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
# Demo clock: "real" follows the wall clock; "accelerated" runs a whole simulated
# session in DEMO_SESSION_MINUTES of wall time, so the gate and prices move in a demo.
DEMO_CLOCK = tuned("DEMO_CLOCK", "accelerated")
DEMO_SESSION_MINUTES = tuned("DEMO_SESSION_MINUTES", 30.0)
DEMO_SEED = tuned("DEMO_SEED", 7)
DEMO_TICKERS = tuned("DEMO_TICKERS", 300)
# Period of update-market-gate in seconds (beat schedule default; editable in admin).
GATE_PERIOD_SECONDS = tuned("GATE_PERIOD_SECONDS", 300)
GATE_STALE_GRACE_SECONDS = tuned("GATE_STALE_GRACE_SECONDS", 120)
# The daily ingest takes a session this many minutes after its close (calendar hours)
# and catches up at most this many missing sessions per run.
INGEST_DELAY_MINUTES = tuned("INGEST_DELAY_MINUTES", 5)
INGEST_CATCH_UP_SESSIONS = tuned("INGEST_CATCH_UP_SESSIONS", 20)
# The fdr provider's market-wide fetch: parallel requests, requests started per second,
# and the timeout of each.
FDR_CONCURRENCY = tuned("FDR_CONCURRENCY", 8)
FDR_RATE_PER_SECOND = tuned("FDR_RATE_PER_SECOND", 10.0)
FDR_TIMEOUT_SECONDS = tuned("FDR_TIMEOUT_SECONDS", 15.0)
# Overrides of marketgate.gate.formula.GateParams fields, e.g. {"green_min": 70}.
GATE_PARAMS: dict[str, float] = tuned("GATE_PARAMS", {})
# Overrides of signals.scanner.vcp.ScanParams fields, e.g. {"min_score": 55}.
SCANNER_PARAMS: dict[str, float] = tuned("SCANNER_PARAMS", {})
SCAN_SOFT_TIME_LIMIT = tuned("SCAN_SOFT_TIME_LIMIT", 240)
# A scan whose date lacks bars for more than this share of the tickers that traded the
# session before says so (run parameters, log): the ingest is incomplete.
SCAN_MAX_MISSING_SHARE = tuned("SCAN_MAX_MISSING_SHARE", 0.05)
SCAN_TIME_LIMIT = tuned("SCAN_TIME_LIMIT", 300)
# Scans queued or running at once over the HTTP APIs (one running + a small queue); more
# are refused with 429 unless identical to one still queued (signals/scans/admission.py).
SCAN_QUEUE_MAX = tuned("SCAN_QUEUE_MAX", 3)
# The bar cache (marketgate/data/bar_cache.py): the last this many sessions of daily bars
# in one file per database under BAR_CACHE_DIR, so a scan does not wait on the database
# read. 0 turns it off (scans read the database). It must cover the scan's window
# (history_sessions + 20 = 320 by default).
BAR_CACHE_SESSIONS = tuned("BAR_CACHE_SESSIONS", 400)
BAR_CACHE_DIR = VAR_DIR / "cache"
# First retry delay of a scan whose database connection dropped (doubles each retry).
SCAN_RETRY_BACKOFF_SECONDS = tuned("SCAN_RETRY_BACKOFF_SECONDS", 30)
# Sessions after the signal date in which the entry may fill; unfilled after them: expired.
SIGNAL_BUY_WINDOW_SESSIONS = tuned("SIGNAL_BUY_WINDOW_SESSIONS", 5)

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
# Modules imported before the feed is chosen; each registers its feeds by name.
PRICE_FEED_PLUGINS = tuned("PRICE_FEED_PLUGINS", [])
# Tickers registered upstream even with no subscriber (their bars are always stored).
PRICE_WATCHLIST = envlist("PRICE_WATCHLIST", ["005930", "000660"])
# The upstream's registration limit per session (KIS: 41 realtime registrations).
PRICE_MAX_REGISTRATIONS = tuned("PRICE_MAX_REGISTRATIONS", 40)
# The feed's fairness rule (marketgate/feeds/fairness.py, docs/operations.md): one client
# (a signed-in user, else an address) moves at most this many tickers into the slots...
PRICE_CLIENT_MAX_TICKERS = tuned("PRICE_CLIENT_MAX_TICKERS", 4)
# ...a registration is kept at least this long (rotating subscriptions cannot churn it)...
PRICE_REGISTRATION_MIN_SECONDS = tuned("PRICE_REGISTRATION_MIN_SECONDS", 60.0)
# ...and registers + releases are at most this many a minute once the slots are filled.
PRICE_REGISTRATION_CHANGES_PER_MINUTE = tuned("PRICE_REGISTRATION_CHANGES_PER_MINUTE", 20.0)
# Own demand from the signals: the latest scan's tickers (best scores first) and open positions, at most this many.
PRICE_SIGNAL_TICKERS = tuned("PRICE_SIGNAL_TICKERS", 20)
# Per client, per ticker: at most this many price_update frames a second (latest wins).
PRICE_MAX_UPDATES_PER_SECOND = tuned("PRICE_MAX_UPDATES_PER_SECOND", 4.0)
# A quote older than this (wall seconds) is never sent as live; snapshots flag it stale.
PRICE_FRESHNESS_SECONDS = tuned("PRICE_FRESHNESS_SECONDS", 60.0)
# Index topics (market:kospi/kosdaq) are refreshed from the market-data provider this often.
PRICE_INDEX_SECONDS = tuned("PRICE_INDEX_SECONDS", 5.0)
PRICE_DEMO_TICK_SECONDS = tuned("PRICE_DEMO_TICK_SECONDS", 1.0)
# Reconnect backoff of the upstream session: base * 2^attempt, capped, with jitter.
PRICE_BACKOFF_BASE_SECONDS = tuned("PRICE_BACKOFF_BASE_SECONDS", 1.0)
PRICE_BACKOFF_CAP_SECONDS = tuned("PRICE_BACKOFF_CAP_SECONDS", 60.0)
# The single-session lock: held while renewed; a dead holder's lock lapses after this.
PRICE_LOCK_TTL_SECONDS = tuned("PRICE_LOCK_TTL_SECONDS", 15.0)
# Per-process subscriber demand in Redis expires this long after its process stops renewing it.
PRICE_DEMAND_TTL_SECONDS = tuned("PRICE_DEMAND_TTL_SECONDS", 30)
KIS_APP_KEY = env("KIS_APP_KEY", "")
KIS_APP_SECRET = env("KIS_APP_SECRET", "")
# KIS production endpoints (tests point them at a local server with recorded frames).
KIS_WS_URL = tuned("KIS_WS_URL", "ws://ops.koreainvestment.com:21000")
KIS_REST_URL = tuned("KIS_REST_URL", "https://openapi.koreainvestment.com:9443")
# "P" personal, "B" corporate customer.
KIS_CUSTTYPE = tuned("KIS_CUSTTYPE", "P")
KIWOOM_APP_KEY = env("KIWOOM_APP_KEY", "")
KIWOOM_SECRET_KEY = env("KIWOOM_SECRET_KEY", "")
# Production; the paper-trading servers are https://mockapi.kiwoom.com and wss://mockapi.kiwoom.com:10000.
KIWOOM_REST_URL = tuned("KIWOOM_REST_URL", "https://api.kiwoom.com")
KIWOOM_WS_URL = tuned("KIWOOM_WS_URL", "wss://api.kiwoom.com:10000/api/dostk/websocket")

# --- operations ---
# The deployed commit, shown by /readyz (set at image build; else read from .git).
STOCKGATE_COMMIT = env("STOCKGATE_COMMIT", "")
# Per-check timeout of /readyz and `manage.py check_health`.
HEALTH_TIMEOUT_SECONDS = tuned("HEALTH_TIMEOUT_SECONDS", 3.0)
# The apps' checks in /readyz, by dotted path (the project package imports no app).
HEALTH_CHECKS = {
    "gate": "marketgate.health.check_gate",
    "feed": "marketgate.health.check_feed",
}
# A deployment without the price feed process sets this off; its state is still shown.
HEALTH_REQUIRE_FEED = envbool("HEALTH_REQUIRE_FEED", True)
# Scheduler watchdog: beat renews its heartbeat every BEAT_HEARTBEAT_SECONDS; silence
# for WATCHDOG_BEAT_MAX_AGE_SECONDS means beat is down. A periodic task is late after
# its period (or crontab fire time) plus WATCHDOG_GRACE_SECONDS.
BEAT_HEARTBEAT_SECONDS = tuned("BEAT_HEARTBEAT_SECONDS", 10.0)
WATCHDOG_BEAT_MAX_AGE_SECONDS = tuned("WATCHDOG_BEAT_MAX_AGE_SECONDS", 60.0)
WATCHDOG_GRACE_SECONDS = tuned("WATCHDOG_GRACE_SECONDS", float(GATE_STALE_GRACE_SECONDS))
WATCHDOG_INTERVAL_SECONDS = tuned("WATCHDOG_INTERVAL_SECONDS", 15.0)
# Period of the pipeline-heartbeat schedule (beat -> worker round trip).
PIPELINE_HEARTBEAT_SECONDS = tuned("PIPELINE_HEARTBEAT_SECONDS", 60)
# Schedules (names or task paths) that are only expected during the KRX session.
# "none" watches every schedule at all hours.
WATCHDOG_SESSION_TASKS = [t for t in tuned("WATCHDOG_SESSION_TASKS", ["update-market-gate"]) if t != "none"]
WATCHDOG_SESSION_PROBE = tuned("WATCHDOG_SESSION_PROBE", "marketgate.health.session_open")
# Every worker runs the watchdog in a thread; incidents are deduplicated in the database.
WATCHDOG_IN_WORKER = tuned("WATCHDOG_IN_WORKER", True)
# Slack-compatible incoming webhook, or a Telegram sendMessage URL with ?chat_id=.
WATCHDOG_ALERT_WEBHOOK_URL = env("WATCHDOG_ALERT_WEBHOOK_URL", "")
# Trader alerts (alerts app): the bot that sends Telegram alerts, retries and backoff of a
# failing destination, and whether webhook URLs may point at private addresses.
ALERTS_TELEGRAM_BOT_TOKEN = env("ALERTS_TELEGRAM_BOT_TOKEN", "")
ALERTS_TELEGRAM_API_URL = tuned("ALERTS_TELEGRAM_API_URL", "https://api.telegram.org")
ALERTS_MAX_RETRIES = tuned("ALERTS_MAX_RETRIES", 3)
ALERTS_RETRY_BACKOFF_SECONDS = tuned("ALERTS_RETRY_BACKOFF_SECONDS", 10.0)
# Webhook URLs on private or loopback addresses are refused (a trader could point the
# worker at internal services); tests and closed networks turn this on.
ALERTS_ALLOW_PRIVATE_URLS = tuned("ALERTS_ALLOW_PRIVATE_URLS", False)
# /metrics: when set, scrapes must send `Authorization: Bearer <token>`.
METRICS_TOKEN = env("METRICS_TOKEN", "")
# prometheus_client writes each process's samples here (uvicorn --workers N); created at start-up.
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", "")

# Every tuning name is known by now: refuse an override of a name that does not exist.
tuned.check_names()
TUNING_DEFAULTS = dict(tuned.defaults)
