"""Minervini's Trend Template and relative strength, for the whole universe at once.

Every function takes right-aligned session x ticker matrices (see panel.py) whose last
`params.required_sessions` rows are complete for the columns given, and returns one
value per ticker. Nothing loops over tickers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from signals.scanner.params import ScanParams

# Criterion keys in the order of the rules; a rejection names the first that fails.
CRITERIA: tuple[str, ...] = (
    "close_above_ma150_ma200",
    "ma150_above_ma200",
    "ma200_rising",
    "ma50_above_ma150_ma200",
    "close_above_ma50",
    "above_52w_low",
    "near_52w_high",
    "rs",
)


@dataclass(frozen=True)
class Indicators:
    close: np.ndarray
    ma_fast: np.ndarray
    ma_mid: np.ndarray
    ma_slow: np.ndarray
    ma_slow_before: np.ndarray  # MA200 `ma_slow_rising_sessions` sessions ago
    high_52w: np.ndarray
    low_52w: np.ndarray
    rs_score: np.ndarray  # weighted return
    rs: np.ndarray  # percentile 1-99 across the columns given
    atr: np.ndarray
    volume_ratio: np.ndarray  # fast / slow average volume


def select(ind: Indicators, which: slice | np.ndarray) -> Indicators:
    """The indicators of some columns (RS keeps the percentile it had across all)."""
    return Indicators(**{f.name: getattr(ind, f.name)[which] for f in fields(Indicators)})


def tail_mean(matrix: np.ndarray, window: int, skip: int = 0) -> np.ndarray:
    """Mean of the `window` rows ending `skip` rows before the last."""
    end = matrix.shape[0] - skip
    return matrix[end - window : end].mean(axis=0)


def weighted_return(close: np.ndarray, weights: tuple[tuple[int, float], ...]) -> np.ndarray:
    last = close[-1]
    return sum(weight * (last / close[-1 - n] - 1.0) for n, weight in weights)


def percentile_rank(scores: np.ndarray) -> np.ndarray:
    """1-99 percentile (ties share their average rank); a lone ticker is 99."""
    n = len(scores)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n == 1:
        return np.array([99], dtype=np.int64)
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    # Average rank of ties: (first + last position of the run) / 2, 1-based.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks = np.empty(n, dtype=float)
    ranks[order] = np.repeat(avg, counts)
    return np.floor(1.0 + 98.0 * (ranks - 1.0) / (n - 1) + 0.5).astype(np.int64)


def average_true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Simple mean of the last `period` true ranges."""
    h, lo, prev = high[-period:], low[-period:], close[-period - 1 : -1]
    true_range = np.maximum(h - lo, np.maximum(np.abs(h - prev), np.abs(lo - prev)))
    return true_range.mean(axis=0)


def indicators(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, params: ScanParams
) -> Indicators:
    week = params.week52_sessions
    score = weighted_return(close, params.rs_weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        volume_ratio = tail_mean(volume, params.volume_fast) / tail_mean(volume, params.volume_slow)
    return Indicators(
        close=close[-1],
        ma_fast=tail_mean(close, params.ma_fast),
        ma_mid=tail_mean(close, params.ma_mid),
        ma_slow=tail_mean(close, params.ma_slow),
        ma_slow_before=tail_mean(close, params.ma_slow, skip=params.ma_slow_rising_sessions),
        high_52w=high[-week:].max(axis=0),
        low_52w=low[-week:].min(axis=0),
        rs_score=score,
        rs=percentile_rank(score),
        atr=average_true_range(high, low, close, params.atr_period),
        volume_ratio=volume_ratio,
    )


def criteria_matrix(ind: Indicators, params: ScanParams) -> np.ndarray:
    """(tickers, 8) booleans in CRITERIA order."""
    c = ind.close
    return np.column_stack(
        [
            (c > ind.ma_mid) & (c > ind.ma_slow),
            ind.ma_mid > ind.ma_slow,
            ind.ma_slow > ind.ma_slow_before,
            (ind.ma_fast > ind.ma_mid) & (ind.ma_fast > ind.ma_slow),
            c > ind.ma_fast,
            c >= params.above_low_multiple * ind.low_52w,
            c >= params.near_high_fraction * ind.high_52w,
            ind.rs >= params.rs_min,
        ]
    )


def passes(criteria: np.ndarray, rs: np.ndarray, params: ScanParams) -> np.ndarray:
    """All 8, or 7 of 8 with RS >= rs_relaxed_min (the lower grade)."""
    met = criteria.sum(axis=1)
    return (met == len(CRITERIA)) | ((met == len(CRITERIA) - 1) & (rs >= params.rs_relaxed_min))


def failure_reason(key: str, ind: Indicators, i: int, params: ScanParams) -> str:
    """The human reason for criterion `key` failing for column i."""
    c = ind.close[i]
    if key == "close_above_ma150_ma200":
        text = f"close <= MA{params.ma_mid}" if c <= ind.ma_mid[i] else f"close <= MA{params.ma_slow}"
    elif key == "ma150_above_ma200":
        text = f"MA{params.ma_mid} <= MA{params.ma_slow}"
    elif key == "ma200_rising":
        text = f"MA{params.ma_slow} not rising over {params.ma_slow_rising_sessions} sessions"
    elif key == "ma50_above_ma150_ma200":
        below = params.ma_mid if ind.ma_fast[i] <= ind.ma_mid[i] else params.ma_slow
        text = f"MA{params.ma_fast} <= MA{below}"
    elif key == "close_above_ma50":
        text = f"close <= MA{params.ma_fast}"
    elif key == "above_52w_low":
        text = f"close < {params.above_low_multiple:.2f} x 52-week low"
    elif key == "near_52w_high":
        text = f"close < {params.near_high_fraction:.2f} x 52-week high"
    else:
        text = f"RS {int(ind.rs[i])} < {params.rs_min}"
    return f"Trend Template: {text}"
