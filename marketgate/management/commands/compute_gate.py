"""`manage.py compute_gate [--date D] [--dry-run]`: the gate now, or after a day's close."""

from __future__ import annotations

import json
import unicodedata
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from marketgate.gate.service import compute_and_save

COMPONENT_LABELS_KO = {"trend": "추세", "distribution": "분산일", "breadth": "시장폭",
                       "new_highs_lows": "신고가-신저가", "drawdown": "고점 대비 하락", "override": "시장 국면 보정"}
COMPONENT_LABELS_EN = {"trend": "trend", "distribution": "distribution", "breadth": "breadth",
                       "new_highs_lows": "NH-NL", "drawdown": "drawdown", "override": "market override"}


def _pad(text: str, cells: int) -> str:
    """`text` filled to `cells` terminal cells (a Korean character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)
    return text + " " * max(0, cells - used)


class Command(BaseCommand):
    help = "Compute the Market Gate now (in session) or for the close of --date, and save it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", help="a KRX session date, YYYY-MM-DD (default: now, live)")
        parser.add_argument("--dry-run", action="store_true", help="compute and print; save nothing")
        parser.add_argument("--json", action="store_true", help="print the wire data as JSON")
        parser.add_argument("--force", action="store_true", help="compute now even outside the session")
        parser.add_argument("--lang", choices=["ko", "en"], default="ko", help="language of the reasons (default ko)")

    def handle(self, *args: Any, **opts: Any) -> None:
        on_date = None
        if opts["date"]:
            try:
                on_date = date.fromisoformat(opts["date"])
            except ValueError as exc:
                raise CommandError(f"--date must be YYYY-MM-DD, got {opts['date']!r}") from exc
        outcome = compute_and_save(on_date=on_date, dry_run=opts["dry_run"], require_session=not opts["force"])
        row = outcome.row
        if row is None:
            raise CommandError(outcome.reason)
        if opts["json"]:
            self.stdout.write(json.dumps(row.to_data(), ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"{row.trading_date}  {row.status} {row.level}/100  ({outcome.reason})")
        self.stdout.write(f"  KOSPI {row.kospi} ({row.kospi_change_pct}%)  KOSDAQ {row.kosdaq} ({row.kosdaq_change_pct}%)")
        korean = opts["lang"] == "ko"
        # Rendered from the stored codes (to_data), like the dashboard: both languages from one row.
        for component in row.to_data()["components"]:
            name = component["name"]
            label = (COMPONENT_LABELS_KO if korean else COMPONENT_LABELS_EN).get(name, name)
            points = "?" if component.get("points") is None else component["points"]
            # An override row has no points of its own: its reason says what it did.
            score = "" if name == "override" else f"{points}/{component['max']}"
            reason = (component.get("reason_ko") or component["reason"]) if korean else component["reason"]
            self.stdout.write(f"  {component.get('market', ''):6} {_pad(label, 15)} {score:>9} {reason}")
