"""Test settings: the real PostgreSQL and Redis on this machine, never SQLite.

Override with DATABASE_URL / REDIS_URL. Redis uses its own database number and key
prefix so a test run never touches a running system's keys.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@localhost:5432/stockgate")
os.environ.setdefault("REDIS_URL", "redis://localhost:6379/14")
os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
os.environ.setdefault("REALTIME_PREFIX", "sgtest")
os.environ.setdefault("CHANNEL_PREFIX", "sgtest-layer")

from stockgate.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
