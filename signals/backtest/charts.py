"""The backtest's charts as PNG files: the equity curve (gate on / off, before and after
costs) and the distribution of R. Drawn from a report (backtest_stats.report), so a
rerun of `manage.py backtest --charts DIR` redraws the same pictures."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server
import matplotlib.pyplot as plt

GATE_COLOURS = {"GREEN": "#2e7d32", "YELLOW": "#f9a825", "RED": "#c62828", "UNKNOWN": "#9e9e9e"}


def equity_chart(report: dict[str, Any], path: Path, title: str) -> Path:
    equity = float(report["equity_won"])
    start = date.fromisoformat(report["from"])
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    for key, style, label in (("gate_on", "-", "gate on"), ("gate_off", "-", "gate off"),
                              ("gate_on_costs", "--", "gate on, after costs"),
                              ("gate_off_costs", "--", "gate off, after costs")):
        points = report["equity_curves"][key]
        days = [start, *(date.fromisoformat(d) for d, _ in points)]
        values = [equity / 1e6, *(v / 1e6 for _, v in points)]
        colour = "#1565c0" if key.startswith("gate_on") else "#6d4c41"
        ax.step(days, values, where="post", linestyle=style, color=colour, label=label)
    ax.set_ylabel("equity, million KRW")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def r_chart(report: dict[str, Any], path: Path, title: str) -> Path:
    fresh = [t for t in report["trades"] if not t["repeat"] and t["r"] is not None]
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    bins = [x / 2 for x in range(-6, 11)]  # -3R .. +5R in half-R steps
    stacks = [[min(max(t["r"], -2.99), 4.99) for t in fresh if t["gate"] == g] for g in GATE_COLOURS]
    labels = [f"{g} at signal ({len(s)})" for g, s in zip(GATE_COLOURS, stacks, strict=True)]
    ax.hist(stacks, bins=bins, stacked=True, color=list(GATE_COLOURS.values()), label=labels, edgecolor="white")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("R at exit or marked to market (gate off: every filled signal)")
    ax.set_ylabel("signals")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def draw(report: dict[str, Any], directory: Path, name: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    span = f"{report['market']} {report['from']} .. {report['to']}"
    return [
        equity_chart(report, directory / f"{name}-equity.png", f"Equity, VCP signals {span}"),
        r_chart(report, directory / f"{name}-r.png", f"R distribution, VCP signals {span}"),
    ]
