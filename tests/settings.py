"""Test settings: the real PostgreSQL and Redis on this machine, never SQLite.

Override with DATABASE_URL / REDIS_URL. Redis uses its own database number and key
prefix so a test run never touches a running system's keys.
"""

import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@localhost:5432/stockgate")
os.environ.setdefault("REDIS_URL", "redis://localhost:6379/14")
os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
# Test runs may overlap on one machine: each gets its own database, key prefix and queue.
RUN_ID = os.environ.setdefault("STOCKGATE_TEST_RUN", str(os.getpid()))
os.environ.setdefault("REALTIME_PREFIX", f"sgtest{RUN_ID}")
os.environ.setdefault("CHANNEL_PREFIX", f"sgtest{RUN_ID}-layer")
os.environ.setdefault("CELERY_QUEUE", f"stockgate-test-{RUN_ID}")
# A ticker a test has just listed is a known `price:` topic at once, in every process the
# tests start (deployments reload at most every WS_TICKERS_MISS_REFRESH_SECONDS).
_tuning = json.loads(os.environ.get("STOCKGATE_TUNING") or "{}")
_tuning.setdefault("WS_TICKERS_MISS_REFRESH_SECONDS", 0)
os.environ["STOCKGATE_TUNING"] = json.dumps(_tuning)

from stockgate.settings import *  # noqa: E402,F403

DATABASES["default"]["TEST"] = {"NAME": f"test_stockgate_{RUN_ID}"}  # noqa: F405

# This run's bar cache files, away from var/ and from other runs.
BAR_CACHE_DIR = Path(tempfile.gettempdir()) / f"stockgate-test-{RUN_ID}" / "cache"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
