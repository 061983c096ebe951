"""`manage.py watchdog`: run the scheduler watchdog in the foreground.

Workers already run it in a thread (WATCHDOG_IN_WORKER); this command is for a
deployment that wants it in a process of its own, or for one pass (`--once`).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Watch beat and the periodic tasks; alert when one is late and when it recovers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, print the state, exit 1 when late")
        parser.add_argument("--interval", type=float, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        from stockgate.ops.watchdog import check_and_act, run_forever

        if options["once"]:
            state = check_and_act()
            self.stdout.write(json.dumps(state, ensure_ascii=False))
            if state["scheduler_late"]:
                raise SystemExit(1)
            return
        stop = threading.Event()
        try:
            run_forever(stop, options["interval"])
        except KeyboardInterrupt:
            stop.set()
