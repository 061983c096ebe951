"""Random-walk daily bars around given closes: what the scan benchmark's synthetic market
(scan_bench.synthetic_market) and the scanner tests' random universe
(tests/scanner_fixtures.random_universe) are made of. Pure: numpy and pandas.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def bars_around_closes(rng: np.random.Generator, closes: np.ndarray, vol: np.ndarray,
                       volume_level: Callable[[], np.ndarray], tickers: np.ndarray,
                       dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Long-format bars (ticker, date, open..volume, rounded) of `closes` (sessions x
    tickers): each open a gap from its close of 0.3 x the ticker's daily volatility `vol`,
    high and low beyond both by up to 0.6 x `vol`, volume around `volume_level()` (one
    level per ticker, drawn after the prices, so a caller's random stream stays as it
    was) with 0.4 log-normal noise."""
    sessions, n = closes.shape
    opens = closes * np.exp(0.3 * vol * rng.standard_normal((sessions, n)))
    highs = np.maximum(opens, closes) * (1 + vol * rng.uniform(0, 0.6, (sessions, n)))
    lows = np.minimum(opens, closes) * (1 - vol * rng.uniform(0, 0.6, (sessions, n)))
    volume = volume_level() * np.exp(0.4 * rng.standard_normal((sessions, n)))
    return pd.DataFrame(
        {
            "ticker": np.repeat(tickers, sessions),
            "date": np.tile(dates.to_numpy(), n),
            "open": opens.T.ravel().round(),
            "high": highs.T.ravel().round(),
            "low": lows.T.ravel().round(),
            "close": closes.T.ravel().round(),
            "volume": volume.T.ravel().round(),
        }
    )
