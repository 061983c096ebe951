"""What a bar import did (ImportReport): counts, every skipped, overridden, widened or
flagged line, the instruments it created and the corporate actions it found; as lines
for people (`import_bars`) and as data for machines (`import_bars --json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from marketgate.data.adjustment_store import describe
from marketgate.data.csv_reader import Problem


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_written: int = 0
    halted: int = 0
    problems: list[Problem] = field(default_factory=list)  # rows rejected (skipped)
    duplicates: list[Problem] = field(default_factory=list)  # rows overridden by a later one
    widened: list[Problem] = field(default_factory=list)  # rows kept with high/low widened
    flagged: list[Problem] = field(default_factory=list)  # rows kept but suspicious
    created: list[str] = field(default_factory=list)  # tickers created as minimal instruments
    tickers: set[str] = field(default_factory=set)
    first_date: date | None = None
    last_date: date | None = None
    adjustments: pd.DataFrame | None = None  # corporate actions found in the imported range

    def summary(self, max_lines: int = 50) -> list[str]:
        out = [
            (
                f"{len(self.files)} file(s), {self.rows_read:,} rows read, {self.rows_written:,} bars inserted or changed"
                f" ({self.halted:,} halted), {len(self.problems):,} bad rows skipped,"
                f" {len(self.duplicates):,} duplicates (last wins), {len(self.widened):,} high/low widened,"
                f" {len(self.flagged):,} flagged{_by_code(self.flagged)}"
            )
        ]
        if self.adjustments is not None and not self.adjustments.empty:
            out.append(f"{len(self.adjustments)} corporate action(s) found; history before each ex-date is adjusted "
                       "for indicators (stored prices unchanged):")
            out.extend(f"adjusted: {line}" for line in describe(self.adjustments))
        if self.created:
            shown = ", ".join(self.created[:20]) + (" ..." if len(self.created) > 20 else "")
            out.append(f"{len(self.created)} unknown ticker(s) created as minimal instruments: {shown}")
        kinds = (("skipped", self.problems), ("duplicate", self.duplicates), ("widened", self.widened),
                 ("flagged", self.flagged))
        for title, items in kinds:
            # Up to max_lines of each reason, so a few limit breaches are not hidden
            # behind thousands of off-grid prices.
            shown: dict[str, int] = {}
            for problem in items:
                shown[problem.code] = shown.get(problem.code, 0) + 1
                if shown[problem.code] <= max_lines:
                    out.append(f"{title}: {problem}")
            for code, count in shown.items():
                if count > max_lines:
                    out.append(f"{title}: ... and {count - max_lines:,} more{f' ({code})' if code else ''}")
        return out

    def to_data(self) -> dict[str, object]:
        """The whole report for machines (`import_bars --json`): every line, no cap."""
        adjustments = self.adjustments if self.adjustments is not None else pd.DataFrame()
        return {
            "files": self.files,
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "halted": self.halted,
            "counts": {"rejected": len(self.problems), "flagged": len(self.flagged), "widened": len(self.widened),
                       "duplicates": len(self.duplicates), "created": len(self.created)},
            "rejected": [p.to_data() for p in self.problems],
            "flagged": [p.to_data() for p in self.flagged],
            "widened": [p.to_data() for p in self.widened],
            "duplicates": [p.to_data() for p in self.duplicates],
            "created": self.created,
            "adjustments": [
                {"ticker": r.ticker, "ex_date": r.ex_date.isoformat(), "factor": r.factor,
                 "prev_close": r.prev_close, "open": r.open}
                for r in adjustments.itertuples(index=False)
            ],
            "first_date": self.first_date.isoformat() if self.first_date else None,
            "last_date": self.last_date.isoformat() if self.last_date else None,
        }


def _grouped(problems: list[Problem]) -> dict[str, list[Problem]]:
    groups: dict[str, list[Problem]] = {}
    for problem in problems:
        groups.setdefault(problem.code, []).append(problem)
    return groups


def _by_code(problems: list[Problem]) -> str:
    if not problems:
        return ""
    counts = ", ".join(f"{len(group):,} {code}" for code, group in _grouped(problems).items())
    return f" ({counts})"
