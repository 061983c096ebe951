"""The Market Gate over past dates, from pandas frames of index bars and breadth.

Used to calibrate the gate on real history and by the `compute_gate --date` command.
Pure apart from `load_krx_calibration`, which reads the KRX calibration CSVs
(../shared/data/krx); nothing here imports Django.

    python -m marketgate.gate.replay --start 2008-09-01 --end 2009-06-30
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from marketgate.gate.formula import (
    BreadthHistory,
    GateParams,
    GateResult,
    IndexHistory,
    PreviousGate,
    compute_gate,
)
from marketgate.gate.params import DEFAULT_PARAMS

BREADTH_COLUMNS = ("advances", "declines", "new_highs", "new_lows", "pct_above_ma50")


def _dates(frame: pd.DataFrame) -> tuple[date, ...]:
    return tuple(pd.to_datetime(frame["date"]).dt.date)


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["date"] = pd.to_datetime(out["date"])
    return out.sort_values("date").drop_duplicates("date", keep="last").reset_index(drop=True)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in frame:
        return None
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def index_history_from_frame(frame: pd.DataFrame, name: str) -> IndexHistory:
    """IndexHistory from columns date, close and (optionally) volume."""
    frame = _clean(frame)
    return IndexHistory(name, _dates(frame), _column(frame, "close"), _column(frame, "volume"))


def breadth_history_from_frame(frame: pd.DataFrame) -> BreadthHistory:
    """BreadthHistory from columns date + any of advances, declines, new_highs, new_lows,
    pct_above_ma50. A day with advances + declines = 0 is a placeholder, not a market
    where nothing moved: its A/D is unknown."""
    frame = _clean(frame)
    values = {name: _column(frame, name) for name in BREADTH_COLUMNS}
    if values["advances"] is not None and values["declines"] is not None:
        empty = (values["advances"] + values["declines"]) == 0
        values["advances"] = np.where(empty, np.nan, values["advances"])
        values["declines"] = np.where(empty, np.nan, values["declines"])
    return BreadthHistory(_dates(frame), **values)


def gate_series(
    kospi: pd.DataFrame | None,
    kosdaq: pd.DataFrame | None = None,
    breadth: dict[str, pd.DataFrame] | None = None,
    *,
    dates: Iterable[date] | None = None,
    start: date | None = None,
    end: date | None = None,
    params: GateParams = DEFAULT_PARAMS,
    hysteresis: bool = True,
) -> pd.DataFrame:
    """One row per date: the gate as it would have been computed after that close.

    `dates` defaults to the KOSPI (else KOSDAQ) sessions between start and end. With
    `hysteresis`, each day's result feeds the next day's `previous`, as the daily job does.
    """
    histories = {
        name: index_history_from_frame(frame, name)
        for name, frame in (("KOSPI", kospi), ("KOSDAQ", kosdaq)) if frame is not None
    }
    breadths = {name: breadth_history_from_frame(frame) for name, frame in (breadth or {}).items()}
    if dates is None:
        base = histories.get("KOSPI") or histories.get("KOSDAQ")
        dates = base.dates if base else ()
    rows = []
    previous: PreviousGate | None = None
    for day in dates:
        if (start and day < start) or (end and day > end):
            continue
        result = compute_gate(histories.get("KOSPI"), histories.get("KOSDAQ"), breadths,
                              as_of_date=day, previous=previous, params=params)
        if result is None:
            continue
        if hysteresis:
            previous = result.as_previous()
        rows.append(_row(result))
    return pd.DataFrame(rows)


def _row(result: GateResult) -> dict[str, object]:
    row: dict[str, object] = {
        "date": result.as_of_date, "level": result.level, "status": result.status,
        "raw_status": result.raw_status, "correction": result.correction,
        "follow_through": result.follow_through,
    }
    for name in ("KOSPI", "KOSDAQ"):
        summary = result.index(name)
        key = name.lower()
        row[f"{key}_close"] = summary.close if summary else None
        row[f"{key}_change_pct"] = summary.change_pct if summary else None
        row[f"{key}_level"] = round(summary.level, 1) if summary and summary.level is not None else None
        row[f"{key}_dd"] = summary.distribution_days if summary else None
    row["points"] = " ".join(
        f"{c['market'][:2]}.{c['name'][:5]}={c['points'] if c['known'] else '?'}/{c['max']}"
        for c in result.components
    )
    row["reasons"] = "; ".join(c["reason"] for c in result.components)
    row["override"] = result.override_reason.replace("\n", "; ")
    return row


def default_krx_dir() -> Path:
    """../shared/data/krx beside the repository, or KRX_DATA_DIR."""
    env = os.environ.get("KRX_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "krx"


def load_krx_calibration(data_dir: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """(kospi, kosdaq, breadth by market) frames from the KRX calibration CSVs.

    KOSPI: the official 1980-2020 series, then 2022-07..2026-03 with volume, then the
    2023-2026 closes without volume after that (the 2020-09..2022-06 gap stays a gap:
    the gate only looks at the last 252 sessions, so dates near it are not meaningful).
    KOSDAQ has no volume: its distribution component is unknown.
    """
    d = data_dir or default_krx_dir()
    old = pd.read_csv(d / "kospi_index_1980-2020.csv", usecols=["date", "close", "volume"])
    recent = pd.read_csv(d / "kospi_close_volume_2022-2026.csv").rename(
        columns={"volume_thousand_shares": "volume"})[["date", "close", "volume"]]
    closes = pd.read_csv(d / "kospi_index_2023-2026.csv", usecols=["date", "close"])
    closes = closes[closes["date"] > recent["date"].max()]
    kospi = _clean(pd.concat([old, recent, closes], ignore_index=True))
    kosdaq = _clean(pd.read_csv(d / "kosdaq_index_2023-2026.csv", usecols=["date", "close"]))
    breadth = {}
    for market in ("kospi", "kosdaq"):
        ad = pd.read_csv(d / f"{market}_breadth.csv", usecols=["date", "advances", "declines"])
        nhnl = pd.read_csv(d / f"{market}_new_highs_lows.csv", usecols=["date", "new_highs", "new_lows"])
        breadth[market.upper()] = _clean(ad.merge(nhnl, on="date", how="outer"))
    return kospi, kosdaq, breadth


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Market Gate over past dates (KRX calibration data)")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--end", type=date.fromisoformat, required=True)
    parser.add_argument("--every", type=int, default=1, help="print every Nth session")
    parser.add_argument("--reasons", action="store_true")
    args = parser.parse_args(argv)
    kospi, kosdaq, breadth = load_krx_calibration(args.data_dir)
    table = gate_series(kospi, kosdaq, breadth, start=args.start, end=args.end)
    columns = ["date", "kospi_close", "kospi_change_pct", "kospi_dd", "kospi_level", "kosdaq_level",
               "level", "raw_status", "status", "correction", "follow_through", "points"]
    if args.reasons:
        columns += ["reasons", "override"]
    with pd.option_context("display.width", 250, "display.max_rows", None, "display.max_colwidth", 200):
        print(table[columns].iloc[:: args.every].to_string(index=False))


if __name__ == "__main__":
    main()
