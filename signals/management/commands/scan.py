"""manage.py scan — run the VCP scan now: save the day's signals and broadcast them."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from signals.models import Signal
from signals.scanner.reason_text import render_all
from signals.scans.console import ProgressBar, signal_table
from signals.scans.service import (
    MARKET_CHOICES,
    ScanError,
    ScanOutcome,
    ScanRequest,
    run_scan,
)


def _market(value: str) -> str:
    upper = value.strip().upper()
    if upper not in MARKET_CHOICES:
        raise ValueError(value)
    return upper


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _score(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 100:
        raise ValueError(value)
    return number


def _date(value: str) -> date:
    return date.fromisoformat(value.strip())


_date.__name__ = "date (YYYY-MM-DD)"
_market.__name__ = "market (KOSPI, KOSDAQ or ALL)"
_positive_int.__name__ = "positive integer"
_score.__name__ = "score (0-100)"


class Command(BaseCommand):
    help = (
        "Scan the whole market's daily bars for VCP setups, save the day's signals (a rescan replaces "
        "them) and send one signal_update to subscribers. Exits non-zero on failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--market", type=_market, default="ALL", help="KOSPI, KOSDAQ or ALL (default)")
        parser.add_argument("--top-n", type=_positive_int, default=None, help="keep only the N best scores")
        parser.add_argument("--min-score", type=_score, default=None, help="drop signals scored below S")
        parser.add_argument(
            "--date", type=_date, default=None, metavar="YYYY-MM-DD",
            help="scan as of this session's close (it must have bars); default: the latest bars up to today (KST)",
        )
        parser.add_argument("--dry-run", action="store_true", help="scan and print, save and send nothing")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.add_argument("--lang", choices=["ko", "en"], default="ko", help="table headers and reasons (default ko)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            request = ScanRequest(
                market=options["market"], top_n=options["top_n"], min_score=options["min_score"],
                as_of=options["date"], triggered_by="command",
            )
        except ScanError as exc:
            raise CommandError(str(exc)) from exc
        err = getattr(self.stderr, "_out", sys.stderr)
        progress = ProgressBar(err, enabled=not options["no_progress"] and err.isatty())
        try:
            outcome = run_scan(request, dry_run=options["dry_run"], progress=progress)
        except ScanError as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:  # the run is already marked failed; say why and exit non-zero
            raise CommandError(f"scan failed: {type(exc).__name__}: {exc}") from exc
        finally:
            progress.close()
        signals = self._signals(outcome)
        if options["json"]:
            self.stdout.write(json.dumps({**outcome.summary(), "signals": signals}, ensure_ascii=False, indent=2))
        else:
            self._print_table(outcome, signals, options["lang"])

    def _signals(self, outcome: ScanOutcome) -> list[dict[str, Any]]:
        if outcome.dry_run:
            return [
                {**c.to_dict(), "reasons": render_all(c.reason_codes, settings.LANGUAGE_CODE), "reasons_en": c.reasons,
                 "signal_date": outcome.signal_date.isoformat()}
                for c in outcome.signals
            ]
        # What was stored, exactly as subscribers receive it.
        tickers = [c.ticker for c in outcome.signals]
        return [row.to_message() for row in Signal.objects.for_date(outcome.signal_date).filter(ticker__in=tickers)]

    def _print_table(self, outcome: ScanOutcome, signals: list[dict[str, Any]], lang: str) -> None:
        s = outcome.summary()
        gate = s["gate_status"] or ("unknown (treated as YELLOW)" if lang == "en" else "없음 (YELLOW로 취급)")
        head = (
            f"VCP scan {s['signal_date']}  market {s['market']}  gate {gate}\n"
            f"universe {s['universe_count']:,}  trend template {s['trend_template_count']:,}  "
            f"signals {s['signal_count']:,}"
        )
        self.stdout.write(head)
        if signals:
            self.stdout.write("")
            self.stdout.write("\n".join(signal_table(signals, lang)))
        else:
            self.stdout.write("no setups today" if lang == "en" else "오늘은 조건을 만족한 종목이 없습니다 (no setups)")
        t = s["timings"]
        tail = f"\nload {t.get('load', 0):.2f}s  compute {t.get('compute', 0):.2f}s"
        if outcome.dry_run:
            tail += "  (dry run: nothing saved or sent)"
        else:
            tail += f"  save {t.get('save', 0):.2f}s  run #{s['run_id']}"
            if s["removed"]:
                tail += f"  {s['removed']} stale signal(s) removed"
        self.stdout.write(tail)
