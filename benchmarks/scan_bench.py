"""Scan compute time: the vectorised scanner against the per-ticker reference.

    .venv/bin/python benchmarks/scan_bench.py [--runs 5] [--reference-runs 1]

Uses the real whole-market file from ../shared/data/krx when present (about 2,700
tickers x 320 sessions), otherwise a synthetic universe of the same size generated
here. Prints the median compute time of each and the ratio. `run_compute_benchmark()`
returns the same figures for a caller that adds the load/save/broadcast stages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.random_walk import bars_around_closes
from benchmarks.scan_reference import reference_scan
from marketgate.data.bar_rows import read_bar_file
from marketgate.data.market_files import parse_listing
from signals.scanner.vcp import scan

DATA = Path(os.environ.get("KRX_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "krx"))
BARS_FILE = "stocks_daily_2023-12_2025-06.csv.gz"
REAL_DAY = date(2025, 6, 16)


@dataclass(frozen=True)
class ComputeBenchmark:
    source: str  # "real" or "synthetic"
    tickers: int
    sessions: int
    rows: int
    vectorised_s: float  # median
    reference_s: float  # median
    ratio: float  # reference / vectorised
    universe: int
    trend_template: int
    signals: int
    same_trend_template: bool
    same_signals: bool


def synthetic_market(tickers: int = 2_700, sessions: int = 320, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random-walk daily bars shaped like the KRX: drifts, volatilities and liquidity vary."""
    rng = np.random.default_rng(seed)
    drift = rng.normal(0.0003, 0.0015, tickers)
    vol = rng.uniform(0.012, 0.045, tickers)
    closes = rng.lognormal(9.5, 1.2, tickers) * np.exp(np.cumsum(drift + vol * rng.standard_normal((sessions, tickers)), 0))
    codes = np.array([f"{i:06d}" for i in range(tickers)])
    dates = pd.bdate_range(end=pd.Timestamp(REAL_DAY), periods=sessions)
    bars = bars_around_closes(rng, closes, vol, lambda: rng.lognormal(11.5, 1.5, tickers), codes, dates)
    markets = np.where(rng.random(tickers) < 0.65, "KOSDAQ", "KOSPI")
    instruments = pd.DataFrame({"ticker": codes, "name": codes, "market": markets, "kind": "common"})
    return bars, instruments


def load_market() -> tuple[str, pd.DataFrame, pd.DataFrame]:
    if (DATA / BARS_FILE).exists() and (DATA / "listing.csv").exists():
        return "real", read_bar_file(DATA / BARS_FILE, end=REAL_DAY, sessions=320), parse_listing(DATA / "listing.csv")[0]
    return "synthetic", *synthetic_market()


def _median_time(fn, runs: int):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(runs):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def run_compute_benchmark(runs: int = 5, reference_runs: int = 1) -> ComputeBenchmark:
    source, bars, instruments = load_market()
    fast_s, fast = _median_time(lambda: scan(bars, instruments, as_of=REAL_DAY), runs)
    slow_s, slow = _median_time(lambda: reference_scan(bars, instruments, as_of=REAL_DAY), reference_runs)
    passed = {t for t, why in fast.rejections.items() if why.startswith(("VCP:", "Score"))}
    passed |= {c.ticker for c in fast.candidates}
    return ComputeBenchmark(
        source=source,
        tickers=int(bars["ticker"].nunique()),
        sessions=int(bars["date"].nunique()),
        rows=len(bars),
        vectorised_s=round(fast_s, 4),
        reference_s=round(slow_s, 4),
        ratio=round(slow_s / fast_s, 1),
        universe=fast.universe_count,
        trend_template=fast.trend_template_count,
        signals=len(fast.candidates),
        same_trend_template=passed == slow.trend_template,
        same_signals=[c.to_dict() for c in fast.candidates] == [c.to_dict() for c in slow.candidates],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reference-runs", type=int, default=1)
    args = parser.parse_args()
    result = run_compute_benchmark(args.runs, args.reference_runs)
    for key, value in asdict(result).items():
        print(f"{key:20s} {value}")
    print(
        f"\nvectorised {result.vectorised_s:.3f} s vs per-ticker {result.reference_s:.2f} s: "
        f"{result.ratio}x faster on {result.tickers:,} tickers x {result.sessions} sessions ({result.source} data)"
    )


if __name__ == "__main__":
    main()
