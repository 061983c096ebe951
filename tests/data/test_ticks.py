"""KRX tick sizes since 2023-01-25 and rounding to the tick grid."""

from __future__ import annotations

import numpy as np
import pytest

from marketgate.tick_size import (
    ceil_to_tick,
    floor_to_tick,
    is_on_tick,
    round_to_tick,
    tick_down,
    tick_size,
    tick_sizes,
    tick_up,
)

BANDS = [
    (1_999, 1), (2_000, 5), (4_995, 5), (5_000, 10), (19_990, 10), (20_000, 50), (49_950, 50),
    (50_000, 100), (199_900, 100), (200_000, 500), (499_500, 500), (500_000, 1_000), (1_250_000, 1_000),
]


@pytest.mark.parametrize(("price", "tick"), BANDS)
def test_tick_size_by_price_band(price, tick):
    assert tick_size(price) == tick


def test_vectorised_tick_sizes_match_the_scalar_rule():
    prices = np.array([p for p, _ in BANDS] + [1_999.5, 4_999.9], dtype=float)
    assert tick_sizes(prices).tolist() == [tick_size(p) for p in prices]


@pytest.mark.parametrize(("price", "down", "up"), [
    (74_950.0, 74_900, 75_000),
    (1_999.4, 1_999, 1_999 + 1),
    (1_999.5, 1_999, 2_000),
    (4_997.0, 4_995, 5_000),
    (199_950.0, 199_900, 200_000),
    (75_000.0, 75_000, 75_000),
])
def test_floor_and_ceil_to_the_tick(price, down, up):
    assert floor_to_tick(price) == down
    assert ceil_to_tick(price) == up


def test_ceil_never_lands_off_the_grid_of_the_next_band():
    for price in np.arange(1_990.5, 2_010, 0.5):
        assert is_on_tick(ceil_to_tick(float(price)))


def test_round_to_the_nearest_tick():
    assert round_to_tick(74_970.0) == 75_000
    assert round_to_tick(74_930.0) == 74_900
    assert round_to_tick(1_999.8) == 2_000


@pytest.mark.parametrize(("price", "up", "down"), [
    (1_999, 2_000, 1_998),
    (2_000, 2_005, 1_999),
    (5_000, 5_010, 4_995),
    (50_000, 50_100, 49_950),
    (500_000, 501_000, 499_500),
])
def test_one_tick_up_and_down_across_band_edges(price, up, down):
    assert tick_up(price) == up
    assert tick_down(price) == down


def test_several_ticks_at_once():
    assert tick_up(1_998, 3) == 2_005
    assert tick_down(2_005, 3) == 1_998


@pytest.mark.parametrize(("price", "on"), [(75_000, True), (75_050, False), (2_003, False), (1_999, True), (2_000.5, False)])
def test_is_on_tick(price, on):
    assert is_on_tick(price) is on
