"""Walk-forward backtest speed: 250 sessions of a 2,700-ticker market.

    .venv/bin/python benchmarks/backtest_bench.py [--tickers 2700] [--sessions 250]

A synthetic random-walk market (benchmarks/scan_bench.py) with the scanner's 320-session
look-back before the range. Baseline in the same run: one single-session scan of the
same market (median of 3) times the number of sessions, i.e. what running
`manage.py scan --date` once per session would cost in compute. Prints wall and CPU time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scan_bench import synthetic_market
from signals.backtest.walk_forward import GateDay, walk_forward, window_sessions
from signals.scanner.params import ScanParams
from signals.scanner.vcp import scan


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=2_700)
    parser.add_argument("--sessions", type=int, default=250)
    args = parser.parse_args(argv)
    params = ScanParams()
    lookback = window_sessions(params)
    bars, instruments = synthetic_market(args.tickers, lookback + args.sessions + 20)
    dates = np.unique(bars["date"].to_numpy(dtype="datetime64[D]"))
    sessions = [d.item() for d in dates[lookback: lookback + args.sessions]]
    print(f"market: {args.tickers:,} tickers, {len(dates)} sessions, {len(bars):,} bars; backtest {len(sessions)} "
          f"sessions {sessions[0]} .. {sessions[-1]}")

    last = np.datetime64(sessions[-1], "D")
    window = bars.loc[(bars["date"].to_numpy(dtype="datetime64[D]") > dates[np.searchsorted(dates, last) - lookback])
                      & (bars["date"].to_numpy(dtype="datetime64[D]") <= last)]
    single, single_cpu = [], []
    for _ in range(3):
        started, cpu_started = time.perf_counter(), time.process_time()
        scan(window, instruments, as_of=sessions[-1], params=params)
        single.append(time.perf_counter() - started)
        single_cpu.append(time.process_time() - cpu_started)
    one, one_cpu = statistics.median(single), statistics.median(single_cpu)

    wall, cpu = time.perf_counter(), time.process_time()
    run = walk_forward(bars, instruments, sessions, lambda day: GateDay("GREEN", 70, "stored"), params=params)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    baseline = one * len(sessions)
    print(f"single-session scan (median of 3): {one:.3f} s wall, {one_cpu:.3f} s CPU; x {len(sessions)} sessions = "
          f"{baseline:.1f} s wall, {one_cpu * len(sessions):.1f} s CPU")
    print(f"backtest: {wall:.1f} s wall, {cpu:.1f} s CPU ({run.timings['scan']:.1f} s in scan(), "
          f"{run.timings['prepare']:.1f} s preparing); {len(run.trades)} signals, {len(run.forward):,} forward returns")
    print(f"backtest / (single scan x sessions) = {wall / baseline:.2f} wall, {cpu / (one_cpu * len(sessions)):.2f} CPU; "
          f"under 3 minutes: {wall < 180}")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
