"""Terminal output of a scan: a table whose columns line up with Korean names, and a
progress bar. Pure (no Django).

A terminal draws East Asian wide characters (한글, 漢字, full-width forms) two cells
wide, so padding by len() would push every column after a Korean name out of line;
widths here count cells, per Unicode's East Asian Width property.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

HEADERS = {
    "ko": ("순위", "코드", "종목명", "시장", "등급", "점수", "진입가", "손절가", "목표가", "수량"),
    "en": ("#", "Ticker", "Name", "Market", "Grade", "Score", "Entry", "Stop", "Target", "Shares"),
}
RIGHT_ALIGNED = {0, 5, 6, 7, 8, 9}


def cell_width(text: str) -> int:
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - cell_width(text))
    return fill + text if right else text + fill


def truncate(text: str, width: int) -> str:
    """At most `width` cells, with an ellipsis when cut."""
    if cell_width(text) <= width:
        return text
    out, used = "", 0
    for char in text:
        w = cell_width(char)
        if used + w > width - 1:
            break
        out, used = out + char, used + w
    return out + "…"


def won(value: float) -> str:
    return f"{int(value):,}"


def table(rows: Sequence[Sequence[str]], headers: Sequence[str], right: set[int] | None = None) -> list[str]:
    """Lines of a plain table: header, rule, rows; columns two spaces apart."""
    right = RIGHT_ALIGNED if right is None else right
    widths = [max([cell_width(h)] + [cell_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(pad(c, widths[i], i in right) for i, c in enumerate(cells)).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def signal_rows(signals: Sequence[dict[str, Any]], name_width: int = 20) -> list[list[str]]:
    return [
        [
            str(i),
            s["ticker"],
            truncate(s["name"], name_width),
            s["market"],
            s["grade"],
            str(s["score"]),
            won(s["entry_price"]),
            won(s["stop_loss"]),
            won(s["target_price"]),
            won(s["position_size"]),
        ]
        for i, s in enumerate(signals, 1)
    ]


def signal_table(signals: Sequence[dict[str, Any]], lang: str = "ko") -> list[str]:
    lines = table(signal_rows(signals), HEADERS.get(lang, HEADERS["ko"]))
    for s in signals:
        lines.append("")
        lines.append(f"{s['ticker']} {s['name']}")
        reasons = s.get("reasons_en") or s["reasons"] if lang == "en" else s["reasons"]
        lines.extend(f"  - {reason}" for reason in reasons)
    return lines


class ProgressBar:
    """One line redrawn in place (carriage return) on a terminal; silent elsewhere."""

    def __init__(self, stream: TextIO, enabled: bool, width: int = 30, label: str = "scan") -> None:
        self.stream, self.enabled, self.width, self.label = stream, enabled, width, label
        self._drawn = False

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.enabled:
            return
        fraction = min(1.0, max(0.0, fraction))
        done = round(self.width * fraction)
        bar = "#" * done + "-" * (self.width - done)
        self.stream.write(f"\r{self.label} [{bar}] {fraction * 100:3.0f}% {stage:<10}")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
