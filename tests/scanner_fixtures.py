"""Synthetic daily bars for the scanner tests.

Prices are built from "legs": straight lines from the previous close to a target over a
number of sessions. Each bar opens at the previous close, so a bar's high and low are its
open and close: a swing high or low is exactly the leg's target, which keeps the
expected numbers computable by hand.

The Trend Template's RS is a percentile across the universe, so every test universe has
fillers whose returns bracket the stock under test: weak ones (falling) below it and
strong ones (a 200x run) above it. With `weak` below and `strong` above, the stock's RS
is round(1 + 98 * weak / (weak + strong)).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from benchmarks.random_walk import bars_around_closes

SESSIONS = 300
AS_OF = date(2025, 6, 16)
DATES = pd.bdate_range(end=pd.Timestamp(AS_OF), periods=SESSIONS + 20)
Leg = tuple[int, float, float]  # (sessions, target close, volume per bar)


def path(start: float, legs: Sequence[Leg], start_volume: float = 1_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Closes and volumes: bar 0 at `start`, then each leg's bars end at its target."""
    closes, volumes = [float(start)], [float(start_volume)]
    for n, target, volume in legs:
        closes.extend(np.linspace(closes[-1], target, n + 1)[1:])
        volumes.extend([volume] * n)
    return np.round(np.array(closes)), np.array(volumes)


def frame(
    ticker: str,
    closes: np.ndarray,
    volumes: np.ndarray | float = 1_000_000,
    *,
    spikes: dict[int, float] | None = None,
    dates: pd.DatetimeIndex | None = None,
) -> pd.DataFrame:
    """Long bars for one ticker, ending on AS_OF. `spikes` puts a one-bar high at an index."""
    n = len(closes)
    dates = DATES[-n:] if dates is None else dates
    opens = np.concatenate([[closes[0]], closes[:-1]])
    highs = np.maximum(opens, closes)
    for i, high in (spikes or {}).items():
        highs[i] = high
    return pd.DataFrame(
        {
            "ticker": ticker,
            "date": dates,
            "open": opens,
            "high": highs,
            "low": np.minimum(opens, closes),
            "close": closes,
            "volume": np.broadcast_to(np.asarray(volumes, dtype=float), (n,)).copy(),
        }
    )


def geometric(start: float, end: float, n: int = SESSIONS) -> np.ndarray:
    return np.round(start * (end / start) ** (np.arange(n) / (n - 1)))


def fillers(weak: int, strong: int) -> list[pd.DataFrame]:
    """Liquid common stocks that only set the RS scale (they never form a VCP)."""
    out = [frame(f"W{i:05d}", geometric(20_000 + 100 * i, 10_000)) for i in range(weak)]
    out += [frame(f"S{i:05d}", geometric(1_000, 200_000 + 1000 * i)) for i in range(strong)]
    return out


def instruments(tickers: Sequence[str], market: str = "KOSPI", kind: str = "common") -> pd.DataFrame:
    return pd.DataFrame({"ticker": list(tickers), "name": [f"name {t}" for t in tickers], "market": market, "kind": kind})


def universe(*stocks: pd.DataFrame, weak: int = 3, strong: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(bars, instruments) for the stocks plus RS fillers."""
    bars = pd.concat([*stocks, *fillers(weak, strong)], ignore_index=True)
    return bars, instruments(bars["ticker"].unique())


# --- A textbook VCP -----------------------------------------------------------------
# A five-fold advance to 50,000, then a 80-session base with three contractions:
#   T1 50,000 -> 40,000 (20%), T2 48,000 -> 43,200 (10%), T3 47,000 -> 45,100 (4.04%),
# each on lower volume, and a quiet drift up to 46,500 (1.06% below the 47,000 pivot).
VCP_LEGS: list[Leg] = [
    (219, 50_000, 1_000_000),  # bars 1..219: the advance; bar 219 is the base high
    (20, 40_000, 1_200_000),  # T1 down: bars 220..239
    (15, 48_000, 900_000),  # bars 240..254
    (12, 43_200, 800_000),  # T2 down: bars 255..266
    (12, 47_000, 700_000),  # bars 267..278
    (8, 45_100, 500_000),  # T3 down: bars 279..286
    (13, 46_500, 400_000),  # bars 287..299: the dry-up drift
]


def vcp_stock(ticker: str = "VCP001", scale: float = 1.0) -> pd.DataFrame:
    """The VCP; `scale` multiplies prices (and divides volume, keeping traded value)."""
    closes, volumes = path(10_000, VCP_LEGS)
    return frame(ticker, closes * scale, volumes / scale)


# --- Stocks that are not in a trend -------------------------------------------------
def flat_stock(ticker: str = "FLAT01") -> pd.DataFrame:
    closes = 20_000 + 200 * np.sin(np.arange(SESSIONS) / 7.0)
    return frame(ticker, np.round(closes))


def downtrend_stock(ticker: str = "DOWN01") -> pd.DataFrame:
    return frame(ticker, geometric(30_000, 12_000))


# --- One Trend Template criterion fails ---------------------------------------------
# Each stock passes every other criterion it can (criterion 1 cannot fail alone: close
# above MA50 above MA150 implies close above MA150, so its stock also closes below MA50).
def _steps(*pieces: tuple[int, float]) -> np.ndarray:
    return np.concatenate([np.full(n, float(v)) for n, v in pieces])


def failing_stock(criterion: str, ticker: str = "FAIL01") -> pd.DataFrame:
    up = geometric(10_000, 30_000)
    if criterion == "close_above_ma150_ma200":
        closes = np.concatenate([geometric(10_000, 30_000, 290), np.linspace(29_000, 20_000, 10)])
    elif criterion == "ma150_above_ma200":
        closes = np.concatenate([_steps((100, 10_000), (50, 20_000), (100, 11_000)), np.linspace(25_000, 30_000, 50)])
    elif criterion == "ma200_rising":
        closes = np.concatenate(
            [_steps((78, 10_000), (22, 30_000), (50, 10_000), (100, 18_000)), np.linspace(25_000, 26_000, 50)]
        )
    elif criterion == "ma50_above_ma150_ma200":
        closes = np.concatenate([_steps((150, 10_000), (100, 22_000), (40, 15_000)), np.linspace(16_000, 24_000, 10)])
    elif criterion == "close_above_ma50":
        closes = np.concatenate([geometric(10_000, 30_000, 290), np.linspace(29_500, 27_000, 10)])
    elif criterion == "above_52w_low":
        closes = geometric(10_000, 12_000)
    elif criterion == "near_52w_high":
        return frame(ticker, up, spikes={100: 50_000})
    elif criterion == "rs":
        closes = up  # only the universe changes: see FAILING_RS_FILLERS
    else:
        raise ValueError(criterion)
    return frame(ticker, np.round(closes))


# (weak, strong) fillers: RS 75 for every stock (so 7/8 cannot pass: that needs 80),
# except the RS case, which gets RS 50. `rs_80_plus` gives RS 89 instead.
def failing_universe(criterion: str, *, rs_80_plus: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    weak, strong = (1, 1) if criterion == "rs" else ((9, 1) if rs_80_plus else (3, 1))
    return universe(failing_stock(criterion), weak=weak, strong=strong)


def random_universe(n: int, sessions: int = SESSIONS, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n random-walk stocks with drifts from -60% to +150% a year, liquid, with intraday ranges."""
    rng = np.random.default_rng(seed)
    drift = rng.uniform(-0.004, 0.004, n)
    vol = rng.uniform(0.01, 0.04, n)
    steps = drift + vol * rng.standard_normal((sessions, n))
    closes = rng.uniform(3_000, 80_000, n) * np.exp(np.cumsum(steps, axis=0))
    tickers = np.array([f"{i:06d}" for i in range(n)])
    dates = pd.bdate_range(end=pd.Timestamp(AS_OF), periods=sessions)
    bars = bars_around_closes(rng, closes, vol, lambda: rng.uniform(2e5, 2e6, n), tickers, dates)
    markets = np.where(np.arange(n) % 3 == 0, "KOSDAQ", "KOSPI")
    inst = pd.DataFrame({"ticker": tickers, "name": tickers, "market": markets, "kind": "common"})
    return bars, inst
