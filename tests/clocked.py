"""Run a real process (celery worker/beat, a manage.py command) on a shifted clock.

    python tests/clocked.py OFFSET_SECONDS celery -A stockgate worker ...
    python tests/clocked.py OFFSET_SECONDS manage stream_prices

Every process started with the same offset sees the same market time (wall time +
offset, ticking), so an end-to-end test can run the real processes inside a KRX
session, or just after its close, at any hour. Only the clock is shifted: the
processes, database, Redis and broker are the real ones.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main() -> None:
    offset, kind, args = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
    import time_machine

    time_machine.travel(time.time() + offset, tick=True).start()
    if kind == "celery":
        from celery.__main__ import main as celery_main

        sys.argv = ["celery", *args]
        sys.exit(celery_main())
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *args])


if __name__ == "__main__":
    main()
