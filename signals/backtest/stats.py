"""The numbers of a backtest: fill rate, win rate, R, expectancy, profit factor, drawdown,
by grade and by gate colour, with the gate filter on and off, with and without costs.

Pure. Two ways to trade the same signals:

* **gate on** (what the live system tells a trader): grades capped and sizes halved on
  YELLOW or unknown, RED watch-only (size 0: not traded);
* **gate off**: every signal at the scanner's own grade and full size.

R is per share in units of the planned risk (entry - stop); P&L in won applies the
position size. Repeats (a ticker signalled again while its trade is waiting or held)
are left out of every figure. Costs: a commission on both sides and the KRX sell tax
(securities transaction tax + rural special tax, by the year of the sale).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Any

from signals.backtest.walk_forward import BacktestRun, BacktestTrade, ForwardReturn

COMMISSION = 0.00015  # 0.015 % a side: a typical online brokerage rate
# KOSPI and KOSDAQ sell tax, transaction tax + rural special tax, by year of the sale.
SELL_TAX = {2021: 0.0023, 2022: 0.0023, 2023: 0.0020, 2024: 0.0018, 2025: 0.0015, 2026: 0.0020}
Z95 = 1.96
GATES = ("GREEN", "YELLOW", "RED", "UNKNOWN")
GRADES = ("S", "A", "B", "C")


def sell_tax(day: date) -> float:
    if day.year in SELL_TAX:
        return SELL_TAX[day.year]
    return SELL_TAX[max(SELL_TAX)] if day.year > max(SELL_TAX) else SELL_TAX[min(SELL_TAX)]


@dataclass(frozen=True)
class Mode:
    name: str
    size: Callable[[BacktestTrade], int]
    grade: Callable[[BacktestTrade], str]


GATE_ON = Mode("gate_on", lambda t: t.size, lambda t: t.grade)
GATE_OFF = Mode("gate_off", lambda t: t.raw_size, lambda t: t.raw_grade)


def trade_r(trade: BacktestTrade, costs: bool) -> float | None:
    o = trade.outcome
    if o.fill_price is None or o.r_multiple is None:
        return None
    if not costs:
        return o.r_multiple
    sell_price = o.exit_price if o.exit_price is not None else o.last_close
    sell_day = o.exit_date or o.last_date
    assert sell_price is not None and sell_day is not None
    net = sell_price * (1 - COMMISSION - sell_tax(sell_day)) - o.fill_price * (1 + COMMISSION)
    return net / (trade.entry - trade.stop)


def trade_pnl(trade: BacktestTrade, size: int, costs: bool) -> float | None:
    r = trade_r(trade, costs)
    return None if r is None else r * (trade.entry - trade.stop) * size


def wilson(wins: int, n: int) -> tuple[float, float] | None:
    if n == 0:
        return None
    p = wins / n
    centre = p + Z95**2 / (2 * n)
    spread = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    denominator = 1 + Z95**2 / n
    return ((centre - spread) / denominator, (centre + spread) / denominator)


def mean_ci(values: list[float]) -> tuple[float, float] | None:
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    half = Z95 * sd / math.sqrt(len(values))
    return (m - half, m + half)


def equity_curve(trades: Iterable[BacktestTrade], mode: Mode, equity: float, costs: bool) -> list[tuple[date, float]]:
    """Equity after each day a trade closed (open ones marked at their last close)."""
    by_day: dict[date, float] = {}
    for trade in trades:
        pnl = trade_pnl(trade, mode.size(trade), costs)
        day = trade.outcome.exit_date or trade.outcome.last_date
        if pnl is not None and day is not None:
            by_day[day] = by_day.get(day, 0.0) + pnl
    curve, total = [], equity
    for day in sorted(by_day):
        total += by_day[day]
        curve.append((day, total))
    return curve


def max_drawdown(curve: list[tuple[date, float]], equity: float) -> float:
    """Largest fall from a peak, as a fraction of that peak (0 with no losses)."""
    peak, worst = equity, 0.0
    for _, value in curve:
        peak = max(peak, value)
        worst = max(worst, (peak - value) / peak if peak > 0 else 0.0)
    return worst


def summary(trades: list[BacktestTrade], mode: Mode, equity: float, costs: bool) -> dict[str, Any]:
    """The figures of one group of (non-repeat) signals traded one way."""
    taken = [t for t in trades if mode.size(t) > 0]
    filled = [t for t in taken if t.outcome.filled]
    rs = [r for t in filled if (r := trade_r(t, costs)) is not None]
    pnls = [p for t in filled if (p := trade_pnl(t, mode.size(t), costs)) is not None]
    wins = sum(1 for r in rs if r > 0)
    gains, losses = sum(p for p in pnls if p > 0), -sum(p for p in pnls if p < 0)
    curve = equity_curve(filled, mode, equity, costs)
    statuses = [t.outcome.status for t in taken]
    return {
        "signals": len(trades),
        "taken": len(taken),
        "filled": len(filled),
        "fill_rate": _ratio(len(filled), len(taken)),
        "target": statuses.count("target"),
        "stop": statuses.count("stop"),
        "open": statuses.count("open"),
        "expired": statuses.count("expired"),
        "pending": statuses.count("pending"),
        "win_rate": _ratio(wins, len(rs)),
        "win_rate_ci95": _rounded(wilson(wins, len(rs)), 3),
        "avg_r": _round(sum(rs) / len(rs)) if rs else None,
        "avg_r_ci95": _rounded(mean_ci(rs), 2),
        "median_r": _round(median(rs)) if rs else None,
        "expectancy_won": round(sum(pnls) / len(pnls)) if pnls else None,
        "profit_factor": _round(gains / losses) if losses > 0 else None,
        "total_pnl_won": round(sum(pnls)),
        "return_pct": _round(100 * sum(pnls) / equity),
        "max_drawdown_pct": _round(100 * max_drawdown(curve, equity)),
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _round(value: float, digits: int = 2) -> float:
    return round(value, digits)


def _rounded(pair: tuple[float, float] | None, digits: int) -> list[float] | None:
    return None if pair is None else [round(pair[0], digits), round(pair[1], digits)]


def breakdown(trades: list[BacktestTrade], mode: Mode, equity: float, costs: bool) -> dict[str, Any]:
    return {
        "all": summary(trades, mode, equity, costs),
        "by_grade": {g: summary([t for t in trades if mode.grade(t) == g], mode, equity, costs) for g in GRADES},
        "by_gate": {g: summary([t for t in trades if t.gate == g], mode, equity, costs) for g in GATES},
    }


def forward_summary(samples: list[ForwardReturn]) -> dict[str, Any]:
    """Forward returns of the Trend Template names, by the gate colour of their session."""
    def stats(group: list[ForwardReturn]) -> dict[str, Any]:
        rets = [s.ret for s in group]
        ci = mean_ci(rets)
        return {
            "samples": len(rets),
            "days": len({s.session for s in group}),
            "mean_pct": _round(100 * sum(rets) / len(rets)) if rets else None,
            "mean_ci95_pct": None if ci is None else [round(100 * ci[0], 2), round(100 * ci[1], 2)],
            "median_pct": _round(100 * median(rets)) if rets else None,
            "positive": _ratio(sum(1 for r in rets if r > 0), len(rets)),
        }

    out = {g: stats([s for s in samples if s.gate == g]) for g in GATES}
    out["all"] = stats(samples)
    return out


def report(run: BacktestRun, equity: float) -> dict[str, Any]:
    """Everything `manage.py backtest --json` prints."""
    fresh = [t for t in run.trades if not t.repeat]
    gates = [str(d["gate"]) for d in run.days]
    return {
        "from": run.start.isoformat(),
        "to": run.end.isoformat(),
        "market": run.market,
        "sessions": len(run.sessions),
        "data_end": run.data_end.isoformat() if run.data_end else None,
        "buy_window_sessions": run.buy_window,
        "equity_won": equity,
        "costs": {"commission_per_side": COMMISSION, "sell_tax_by_year": {str(k): v for k, v in SELL_TAX.items()}},
        "gate_days": {g: gates.count(g) for g in GATES},
        "gate_sources": {s: sum(1 for d in run.days if d["gate_source"] == s) for s in ("stored", "recomputed", "none")},
        "signals_emitted": len(run.trades),
        "repeats": len(run.trades) - len(fresh),
        "gate_on": breakdown(fresh, GATE_ON, equity, costs=False),
        "gate_off": breakdown(fresh, GATE_OFF, equity, costs=False),
        "gate_on_costs": summary(fresh, GATE_ON, equity, costs=True),
        "gate_off_costs": summary(fresh, GATE_OFF, equity, costs=True),
        "equity_curves": {
            f"{mode.name}{suffix}": [[d.isoformat(), round(v)] for d, v in equity_curve(fresh, mode, equity, costs)]
            for mode in (GATE_ON, GATE_OFF) for suffix, costs in (("", False), ("_costs", True))
        },
        "trend_template_forward": {"sessions_ahead": run.forward_sessions, **forward_summary(run.forward)},
        "timings": {k: round(v, 2) for k, v in run.timings.items()},
        "trades": [trade_row(t) for t in run.trades],
        "days": run.days,
    }


def trade_row(t: BacktestTrade) -> dict[str, Any]:
    o = t.outcome
    return {
        "session": t.session.isoformat(), "ticker": t.ticker, "name": t.name, "market": t.market,
        "score": t.score, "grade": t.grade, "raw_grade": t.raw_grade, "size": t.size, "raw_size": t.raw_size,
        "entry": t.entry, "stop": t.stop, "target": t.target, "gate": t.gate, "gate_level": t.gate_level,
        "repeat": t.repeat, "status": o.status,
        "fill_date": o.fill_date.isoformat() if o.fill_date else None, "fill_price": o.fill_price,
        "exit_date": o.exit_date.isoformat() if o.exit_date else None, "exit_price": o.exit_price, "gap": o.gap,
        "r": None if o.r_multiple is None else round(o.r_multiple, 3),
        "r_net": None if (r := trade_r(t, True)) is None else round(r, 3),
        "mfe_r": None if o.mfe_r is None else round(o.mfe_r, 3),
        "mae_r": None if o.mae_r is None else round(o.mae_r, 3),
        "days_held": o.days_held,
    }
