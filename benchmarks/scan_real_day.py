"""Scan one real KRX day from ../shared/data/krx and print what the scanner sees.

    .venv/bin/python benchmarks/scan_real_day.py --date 2025-06-16

Prints the universe, the Trend Template count, why the rest fell out, the signals with
their reasons, and the compute time (load time separately). Also prints the Trend
Template count over every ticker with enough history, before the universe screens,
which is the figure to compare with a market-wide count.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marketgate.data.bar_rows import read_bar_file
from marketgate.data.market_files import parse_listing
from signals.scanner import trend_template as tt
from signals.scanner.panel import build_panel
from signals.scanner.params import ScanParams
from signals.scanner.vcp import scan

DATA = Path(os.environ.get("KRX_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "krx"))
BARS_FILE = "stocks_daily_2023-12_2025-06.csv.gz"


def market_wide_trend_template(bars, as_of: date, params: ScanParams) -> tuple[int, int, int]:
    """(tickers judged, 8/8, 8/8 or 7/8 with RS >= 80) over every ticker with enough clean
    history and a bar on the day, whatever its kind, liquidity or price."""
    needed = params.required_sessions
    panel = build_panel(bars, as_of=as_of, rows=needed)
    cols = np.flatnonzero((panel.sessions >= needed) & (panel.last_date == panel.dates.max()))
    ind = tt.indicators(*(m[:, cols] for m in (panel.high, panel.low, panel.close, panel.volume)), params)
    criteria = tt.criteria_matrix(ind, params)
    return len(cols), int(criteria.all(axis=1).sum()), int(tt.passes(criteria, ind.rs, params).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", default="2025-06-16", type=date.fromisoformat)
    parser.add_argument("--runs", default=5, type=int, help="timed runs (the median is printed)")
    args = parser.parse_args()
    if not (DATA / BARS_FILE).exists():
        sys.exit(f"real KRX data not found in {DATA} (set KRX_DATA_DIR)")

    started = time.perf_counter()
    bars = read_bar_file(DATA / BARS_FILE, end=args.date, sessions=320)
    instruments = parse_listing(DATA / "listing.csv")[0]
    load_s = time.perf_counter() - started

    params = ScanParams()
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        result = scan(bars, instruments, as_of=args.date, params=params)
        timings.append(time.perf_counter() - started)

    print(f"# Scan of {result.stats['scan_date']}")
    print(f"bars loaded: {len(bars):,} rows, {bars['ticker'].nunique():,} tickers, {bars['date'].nunique()} sessions")
    print(f"load {load_s:.2f} s; scan compute median {statistics.median(timings):.3f} s over {args.runs} runs")
    print(f"universe: {result.universe_count}")
    print(
        f"trend template: {result.trend_template_count} "
        f"({result.stats['trend_template_8_of_8']} of them 8/8, the rest 7/8 with RS >= {params.rs_relaxed_min})"
    )
    judged, all8, passed = market_wide_trend_template(bars, args.date, params)
    print(f"trend template over all {judged} tickers with {params.required_sessions}+ sessions: {all8} 8/8, {passed} incl. 7/8")
    print(f"signals: {len(result.candidates)}")
    print("\n## Why tickers fell out (first failing rule)")
    stages = Counter(re.sub(r"[\d,.]+", "N", why) for why in result.rejections.values())
    for why, count in stages.most_common():
        print(f"{count:5d}  {why}")
    print("\n## Signals")
    for c in result.candidates:
        print(f"{c.ticker} {c.name} ({c.market}) grade {c.grade} score {c.score}")
        print(f"  entry {c.entry_price:,} stop {c.stop_loss:,} target {c.target_price:,} size {c.position_size:,}")
        for reason in c.reasons:
            print(f"  - {reason}")


if __name__ == "__main__":
    main()
