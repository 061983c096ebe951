"""stockgate's tuning values: limits, periods, thresholds and endpoints, each with its
default and why. settings.py imports every one of them, so each is a Django setting
(`settings.WS_HISTORY_FRAMES`).

They are not environment variables: the environment carries deploy facts
(settings.py, the README's table). A deployment that needs other values sets them
together in one JSON object, STOCKGATE_TUNING='{"WS_HISTORY_FRAMES": 1000}'; each
override takes the type of its default, and a name not defined here stops the start,
so a typo never silently keeps the default.
"""

from __future__ import annotations

from stockgate.env import Tuning, env

tuned = Tuning(env("STOCKGATE_TUNING", ""))

# --- channel layer and realtime transport ---
# redis-py caps an asyncio pool at 100 connections; a burst of connects needs more.
REDIS_MAX_CONNECTIONS = tuned("REDIS_MAX_CONNECTIONS", 1000)
# An inbound frame larger than this is answered `too_large` and the socket closed (1009).
WS_MAX_FRAME_BYTES = tuned("WS_MAX_FRAME_BYTES", 64 * 1024)
# More malformed or refused frames than this in a minute: the connection is closed (1008).
WS_MAX_BAD_FRAMES_PER_MINUTE = tuned("WS_MAX_BAD_FRAMES_PER_MINUTE", 20)
# Inbound frames per second per connection (the page paces itself from this value).
WS_MAX_FRAMES_PER_SECOND = tuned("WS_MAX_FRAMES_PER_SECOND", 20)
# A client over the rate for this many consecutive seconds is closed (1008).
WS_RATE_ABUSE_SECONDS = tuned("WS_RATE_ABUSE_SECONDS", 5)
# Topics one socket may hold at once; the page keeps its price topics under this too.
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
# A /ws handshake with a session cookie: the user found for that session is reused for
# this long by the same web process (a logout applies at once everywhere; a password
# change, a deactivation or a permission change within this time). 0: look up every time.
WS_AUTH_CACHE_SECONDS = tuned("WS_AUTH_CACHE_SECONDS", 10.0)
# Each web process writes its socket counts for /ws/stats this often (and soon after a change).
WS_STATS_REPORT_SECONDS = tuned("WS_STATS_REPORT_SECONDS", 5.0)
# The per-broadcast INFO log line: at most one per price/index topic per this many seconds.
WS_BROADCAST_LOG_SECONDS = tuned("WS_BROADCAST_LOG_SECONDS", 10.0)

# --- Celery ---
# A message whose worker was lost this many times is dropped, with an ERROR, a watchdog
# incident and an alert (stockgate/ops/redelivery_cap.py)...
TASK_MAX_DELIVERIES = tuned("TASK_MAX_DELIVERIES", 3)
# ...counted in Redis for this long: longer than every redelivery of a task takes (each
# waits at most the broker's visibility timeout), short enough that the counters of
# finished tasks go away.
TASK_DELIVERY_COUNT_TTL_SECONDS = tuned("TASK_DELIVERY_COUNT_TTL_SECONDS", 86_400)
# Default task time limits, soft (the task cleans up) then hard; tasks set their own.
CELERY_TASK_SOFT_TIME_LIMIT = tuned("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = tuned("CELERY_TASK_TIME_LIMIT", 300)
# How often beat re-reads schedules from the database (admin edits apply within this).
CELERY_BEAT_MAX_LOOP_INTERVAL = tuned("CELERY_BEAT_MAX_LOOP_INTERVAL", 5)
# Run tasks in the calling process instead of a worker; in production a warning
# (stockgate.W006): tasks would run inside web requests.
CELERY_TASK_ALWAYS_EAGER = tuned("CELERY_TASK_ALWAYS_EAGER", False)

# --- Market data and the gate ---
# Demo clock: "real" follows the wall clock; "accelerated" runs a whole simulated
# session in DEMO_SESSION_MINUTES of wall time, so the gate and prices move in a demo.
DEMO_CLOCK = tuned("DEMO_CLOCK", "accelerated")
DEMO_SESSION_MINUTES = tuned("DEMO_SESSION_MINUTES", 30.0)
# The demo market: its seed (the same seed, the same market in every process) and how
# many instruments it lists.
DEMO_SEED = tuned("DEMO_SEED", 7)
DEMO_TICKERS = tuned("DEMO_TICKERS", 300)
# Period of update-market-gate in seconds (beat schedule default; editable in admin).
GATE_PERIOD_SECONDS = tuned("GATE_PERIOD_SECONDS", 300)
# During a session the latest gate is stale once older than its period plus this.
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
# The scan task's time limits, soft (raised inside the task) then hard (the worker
# process is killed); a run started more than twice the hard limit ago is no longer
# counted as running (signals/scans/admission.py).
SCAN_SOFT_TIME_LIMIT = tuned("SCAN_SOFT_TIME_LIMIT", 240)
SCAN_TIME_LIMIT = tuned("SCAN_TIME_LIMIT", 300)
# A scan whose date lacks bars for more than this share of the tickers that traded the
# session before says so (run parameters, log): the ingest is incomplete.
SCAN_MAX_MISSING_SHARE = tuned("SCAN_MAX_MISSING_SHARE", 0.05)
# Scans queued or running at once over the HTTP APIs (one running + a small queue); more
# are refused with 429 unless identical to one still queued (signals/scans/admission.py).
SCAN_QUEUE_MAX = tuned("SCAN_QUEUE_MAX", 3)
# The bar cache (marketgate/data/bar_cache.py): the last this many sessions of daily bars
# in one file per database under BAR_CACHE_DIR, so a scan does not wait on the database
# read. 0 turns it off (scans read the database). It must cover the scan's window
# (history_sessions + 20 = 320 by default).
BAR_CACHE_SESSIONS = tuned("BAR_CACHE_SESSIONS", 400)
# First retry delay of a scan whose database connection dropped (doubles each retry).
SCAN_RETRY_BACKOFF_SECONDS = tuned("SCAN_RETRY_BACKOFF_SECONDS", 30)
# Sessions after the signal date in which the entry may fill; unfilled after them: expired.
SIGNAL_BUY_WINDOW_SESSIONS = tuned("SIGNAL_BUY_WINDOW_SESSIONS", 5)

# --- live prices ---
# Modules imported before the feed is chosen; each registers its feeds by name.
PRICE_FEED_PLUGINS = tuned("PRICE_FEED_PLUGINS", [])
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
# The demo feed asks the demo provider for its registered tickers' quotes this often.
PRICE_DEMO_TICK_SECONDS = tuned("PRICE_DEMO_TICK_SECONDS", 1.0)
# Reconnect backoff of the upstream session: base * 2^attempt, capped, with jitter.
PRICE_BACKOFF_BASE_SECONDS = tuned("PRICE_BACKOFF_BASE_SECONDS", 1.0)
PRICE_BACKOFF_CAP_SECONDS = tuned("PRICE_BACKOFF_CAP_SECONDS", 60.0)
# The single-session lock: held while renewed; a dead holder's lock lapses after this.
PRICE_LOCK_TTL_SECONDS = tuned("PRICE_LOCK_TTL_SECONDS", 15.0)
# Per-process subscriber demand in Redis expires this long after its process stops renewing it.
PRICE_DEMAND_TTL_SECONDS = tuned("PRICE_DEMAND_TTL_SECONDS", 30)
# KIS production endpoints (tests point them at a local server with recorded frames).
KIS_WS_URL = tuned("KIS_WS_URL", "ws://ops.koreainvestment.com:21000")
KIS_REST_URL = tuned("KIS_REST_URL", "https://openapi.koreainvestment.com:9443")
# "P" personal, "B" corporate customer.
KIS_CUSTTYPE = tuned("KIS_CUSTTYPE", "P")
# Production; the paper-trading servers are https://mockapi.kiwoom.com and wss://mockapi.kiwoom.com:10000.
KIWOOM_REST_URL = tuned("KIWOOM_REST_URL", "https://api.kiwoom.com")
KIWOOM_WS_URL = tuned("KIWOOM_WS_URL", "wss://api.kiwoom.com:10000/api/dostk/websocket")

# --- operations ---
# Per-check timeout of /readyz and `manage.py check_health`.
HEALTH_TIMEOUT_SECONDS = tuned("HEALTH_TIMEOUT_SECONDS", 3.0)
# Scheduler watchdog: beat renews its heartbeat every BEAT_HEARTBEAT_SECONDS; silence
# for WATCHDOG_BEAT_MAX_AGE_SECONDS means beat is down. A periodic task is late after
# its period (or crontab fire time) plus WATCHDOG_GRACE_SECONDS. The watchdog looks
# every WATCHDOG_INTERVAL_SECONDS.
BEAT_HEARTBEAT_SECONDS = tuned("BEAT_HEARTBEAT_SECONDS", 10.0)
WATCHDOG_BEAT_MAX_AGE_SECONDS = tuned("WATCHDOG_BEAT_MAX_AGE_SECONDS", 60.0)
WATCHDOG_GRACE_SECONDS = tuned("WATCHDOG_GRACE_SECONDS", float(GATE_STALE_GRACE_SECONDS))
WATCHDOG_INTERVAL_SECONDS = tuned("WATCHDOG_INTERVAL_SECONDS", 15.0)
# Period of the pipeline-heartbeat schedule (beat -> worker round trip).
PIPELINE_HEARTBEAT_SECONDS = tuned("PIPELINE_HEARTBEAT_SECONDS", 60)
# Schedules (names or task paths) that are only expected during the KRX session.
# "none" watches every schedule at all hours.
WATCHDOG_SESSION_TASKS = [t for t in tuned("WATCHDOG_SESSION_TASKS", ["update-market-gate"]) if t != "none"]
# What says whether (and since when) the KRX session is open, by dotted path; empty: no
# probe, and the session-only schedules are never judged late.
WATCHDOG_SESSION_PROBE = tuned("WATCHDOG_SESSION_PROBE", "marketgate.health.session_open")
# Every worker runs the watchdog in a thread; incidents are deduplicated in the database.
WATCHDOG_IN_WORKER = tuned("WATCHDOG_IN_WORKER", True)
# Trader alerts (alerts app): the Telegram Bot API the bot's messages go to, and the
# retries and backoff of a failing destination.
ALERTS_TELEGRAM_API_URL = tuned("ALERTS_TELEGRAM_API_URL", "https://api.telegram.org")
ALERTS_MAX_RETRIES = tuned("ALERTS_MAX_RETRIES", 3)
ALERTS_RETRY_BACKOFF_SECONDS = tuned("ALERTS_RETRY_BACKOFF_SECONDS", 10.0)
# Webhook URLs on private or loopback addresses are refused (a trader could point the
# worker at internal services); tests and closed networks turn this on.
ALERTS_ALLOW_PRIVATE_URLS = tuned("ALERTS_ALLOW_PRIVATE_URLS", False)

# Every tuning name is known by now: refuse an override of a name that does not exist.
tuned.check_names()
TUNING_DEFAULTS = dict(tuned.defaults)
# What settings.py takes: every tuning value by its name, and the defaults.
__all__ = [*TUNING_DEFAULTS, "TUNING_DEFAULTS"]
