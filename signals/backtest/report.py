"""A backtest report (backtest_stats.report) as Markdown tables: what `manage.py backtest`
prints, and what docs/backtest.md quotes verbatim."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from signals.backtest.stats import GATES, GRADES

COLUMNS = ("", "signals", "taken", "filled", "fill rate", "win rate (95% CI)", "avg R (95% CI)", "median R",
           "expectancy", "PF", "P&L", "max DD")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _num(value: float | None, fmt: str = "{:+.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def _ci(pair: Sequence[float] | None, fmt: str) -> str:
    return "" if not pair else f" ({fmt.format(pair[0])}..{fmt.format(pair[1])})"


def _won(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}원"


def row(label: str, s: dict[str, Any]) -> list[str]:
    ci = s.get("win_rate_ci95")
    return [
        label, str(s["signals"]), str(s["taken"]), str(s["filled"]), _pct(s["fill_rate"]),
        _pct(s["win_rate"]) + ("" if not ci else f" ({100 * ci[0]:.0f}..{100 * ci[1]:.0f}%)"),
        _num(s["avg_r"]) + _ci(s["avg_r_ci95"], "{:+.2f}"), _num(s["median_r"]), _won(s["expectancy_won"]),
        _num(s["profit_factor"], "{:.2f}"), _won(s["total_pnl_won"]), _num(s["max_drawdown_pct"], "{:.1f}%"),
    ]


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def render(report: dict[str, Any]) -> str:
    on, off = report["gate_on"], report["gate_off"]
    gate_days = ", ".join(f"{g} {n}" for g, n in report["gate_days"].items() if n)
    sources = ", ".join(f"{s} {n}" for s, n in report["gate_sources"].items() if n)
    lines = [
        f"Backtest {report['from']} .. {report['to']} ({report['market']}): {report['sessions']} sessions, "
        f"outcomes on bars up to {report['data_end']}, buy window {report['buy_window_sessions']} sessions",
        f"Gate days: {gate_days} (gate: {sources})",
        f"Signals emitted: {report['signals_emitted']}, repeats left out: {report['repeats']}",
        "",
        "Overall (R per share in units of the planned risk; P&L applies the position sizes on "
        f"{report['equity_won']:,.0f}원 equity)",
        "",
    ]
    lines += markdown_table(COLUMNS, [
        row("gate on", on["all"]), row("gate off", off["all"]),
        row("gate on, with costs", report["gate_on_costs"]), row("gate off, with costs", report["gate_off_costs"]),
    ])
    for title, key, labels in (("By grade", "by_grade", GRADES), ("By gate colour at the signal", "by_gate", GATES)):
        rows = []
        for mode, data in (("gate on", on), ("gate off", off)):
            rows += [row(f"{mode}: {label}", data[key][label]) for label in labels if data[key][label]["signals"]]
        lines += ["", title, "", *markdown_table(COLUMNS, rows)]
    forward = report["trend_template_forward"]
    lines += ["", f"Trend Template names: return over the next {forward['sessions_ahead']} sessions, "
                  "by gate colour of the day", ""]
    fwd_rows = [
        [label, str(f["samples"]), str(f["days"]), _num(f["mean_pct"], "{:+.2f}%") + _ci(f["mean_ci95_pct"], "{:+.2f}"),
         _num(f["median_pct"], "{:+.2f}%"), _pct(f["positive"])]
        for label in (*GATES, "all") if (f := forward[label])["samples"]
    ]
    lines += markdown_table(("gate", "samples", "days", "mean (95% CI)", "median", "positive"), fwd_rows)
    trades = [t for t in report["trades"] if not t["repeat"]]
    lines += ["", f"Signals (repeats left out): {len(trades)}", ""]
    lines += markdown_table(TRADE_COLUMNS, [trade_cells(t) for t in trades])
    return "\n".join(lines)


TRADE_COLUMNS = ("session", "ticker", "name", "gate", "grade (gate on/off)", "size (on/off)", "entry", "stop",
                 "target", "outcome", "fill", "exit", "R", "R after costs", "days")


def trade_cells(t: dict[str, Any]) -> list[str]:
    exit_text = "-" if t["exit_price"] is None else f"{t['exit_price']:,.0f} {t['exit_date']}" + (
        " gap" if t["gap"] else "")
    return [
        t["session"], t["ticker"], t["name"], t["gate"], f"{t['grade']}/{t['raw_grade']}", f"{t['size']}/{t['raw_size']}",
        f"{t['entry']:,}", f"{t['stop']:,}", f"{t['target']:,}", t["status"],
        "-" if t["fill_price"] is None else f"{t['fill_price']:,.0f} {t['fill_date']}", exit_text,
        _num(t["r"]), _num(t["r_net"]), "-" if t["days_held"] is None else str(t["days_held"]),
    ]
