"""`manage.py backtest --from D1 --to D2 [--market M] [--json] [--charts DIR]`: the walk-forward backtest."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from signals.backtest.data import BacktestError, run_backtest
from signals.backtest.report import render
from signals.backtest.stats import report
from signals.management.commands.scan import _date, _market, _positive_int
from signals.outcomes.service import buy_window
from signals.scans.console import ProgressBar
from signals.scans.service import scan_params


class Command(BaseCommand):
    help = (
        "Walk-forward backtest: the production scan as of every session between --from and --to, on the bars "
        "up to that session and the gate of that day; outcomes resolved on the later bars. Saves nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", type=_date, required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--to", dest="end", type=_date, required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--market", type=_market, default="ALL", help="KOSPI, KOSDAQ or ALL (default)")
        parser.add_argument("--json", action="store_true", help="print the full report (every trade) as JSON")
        parser.add_argument("--buy-window", type=_positive_int, default=None,
                            help="sessions in which an entry may fill (default: SIGNAL_BUY_WINDOW_SESSIONS)")
        parser.add_argument("--forward-sessions", type=_positive_int, default=20,
                            help="horizon of the Trend Template forward returns (default 20)")
        parser.add_argument("--charts", type=Path, default=None, metavar="DIR",
                            help="also draw the equity and R-distribution PNGs into DIR")
        parser.add_argument("--name", default="backtest", help="file name prefix of the charts (default backtest)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")

    def handle(self, *args: Any, **options: Any) -> None:
        err = getattr(self.stderr, "_out", sys.stderr)
        progress = ProgressBar(err, enabled=not options["no_progress"] and err.isatty(), label="backtest")
        params = scan_params()
        try:
            run = run_backtest(
                options["start"], options["end"], market=options["market"], params=params,
                buy_window=options["buy_window"] or buy_window(), forward_sessions=options["forward_sessions"],
                progress=progress,
            )
        except BacktestError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            progress.close()
        data = report(run, params.equity)
        if options["charts"] is not None:
            from signals.backtest.charts import draw

            for path in draw(data, options["charts"], options["name"]):
                self.stderr.write(f"wrote {path}")
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(render(data))
