"""`manage.py check_health [--role all|web|worker|beat|feed]`: exit 0 healthy, 1 not.

`all` applies exactly the logic of /readyz. The roles are for container healthchecks
and each tests its process for real: web answers HTTP, the worker answers a broker
ping, beat's scheduler loop has ticked recently, the feed publishes its state.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

ROLES = ("all", "web", "worker", "beat", "feed")


class Command(BaseCommand):
    help = "Check the health of the system (or of one process role); exit code 0 when healthy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", choices=ROLES, default="all")
        parser.add_argument("--url", help="web: the URL to fetch (default http://127.0.0.1:$WEB_PORT/healthz)")
        parser.add_argument("--worker-name", help="worker: the node name to ping (default worker@<hostname>)")
        parser.add_argument("--only", help="all: comma-separated checks to run (database,redis,channel_layer,...)")
        parser.add_argument("--timeout", type=float, default=5.0)
        parser.add_argument("--quiet", action="store_true", help="print nothing, only set the exit code")

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["role"]
        try:
            ok, detail = getattr(self, f"_{role}")(options)
        except Exception as exc:
            ok, detail = False, {"error": f"{type(exc).__name__}: {exc}"}
        if not options["quiet"]:
            self.stdout.write(json.dumps({"role": role, "ok": ok, **detail}, ensure_ascii=False, default=str))
        if not ok:
            sys.exit(1)

    def _all(self, options: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        from stockgate.ops.health import readiness

        only = set(options["only"].split(",")) if options["only"] else None
        report = readiness(only)
        return report["status"] == "ok", dict(report)

    def _web(self, options: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        url = options["url"] or f"http://127.0.0.1:{os.environ.get('WEB_PORT', '8000')}/healthz"
        with urllib.request.urlopen(url, timeout=options["timeout"]) as response:
            body = json.loads(response.read() or b"{}")
            return response.status == 200 and body.get("status") == "ok", {"url": url, "status": response.status}

    def _worker(self, options: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        from stockgate.celery import app

        name = options["worker_name"] or f"worker@{socket.gethostname()}"
        replies = app.control.ping(destination=[name], timeout=options["timeout"])
        ok = any(name in reply for reply in replies)
        return ok, {"worker": name, "replies": replies}

    def _beat(self, options: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        from stockgate.ops.watchdog import beat_heartbeat_age

        age = beat_heartbeat_age(timezone.now())
        limit = settings.WATCHDOG_BEAT_MAX_AGE_SECONDS
        if age is None:
            return False, {"error": "beat has never ticked", "max_age_seconds": limit}
        seconds = age.total_seconds()
        return seconds <= limit, {"age_seconds": round(seconds, 1), "max_age_seconds": limit}

    def _feed(self, options: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        from django.utils.module_loading import import_string

        check = import_string(settings.HEALTH_CHECKS["feed"])
        ok, detail = check(timezone.now())
        return ok and detail.get("state") in ("connected", "reconnecting"), detail
