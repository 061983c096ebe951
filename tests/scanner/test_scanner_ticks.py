"""Every price the scanner publishes is on the KRX tick grid."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from marketgate.tick_size import is_on_tick
from signals.scanner.params import ScanParams
from signals.scanner.sizing import TradePlan, plan_trade
from signals.scanner.vcp import scan
from tests import scanner_fixtures as fx

PARAMS = ScanParams()


def _published(plan: TradePlan) -> list[int]:
    return [plan.pivot, plan.entry, plan.stop, plan.target]


@given(
    pivot=st.floats(min_value=1_000, max_value=2_000_000, allow_nan=False),
    depth=st.floats(min_value=0.0, max_value=0.10),
)
def test_trade_plan_prices_are_on_the_grid(pivot: float, depth: float) -> None:
    plan = plan_trade(pivot, pivot * (1 - depth), PARAMS)
    assert isinstance(plan, TradePlan)
    assert all(is_on_tick(p) for p in _published(plan))


@given(
    pivot=st.floats(min_value=1_000, max_value=2_000_000, allow_nan=False),
    depth=st.floats(min_value=0.0, max_value=0.10),
)
def test_trade_plan_orders_stop_below_entry_above_pivot_below_target(pivot: float, depth: float) -> None:
    plan = plan_trade(pivot, pivot * (1 - depth), PARAMS)
    assert isinstance(plan, TradePlan)
    assert plan.stop < plan.entry <= plan.target
    assert plan.entry > pivot


def test_a_pivot_just_under_a_band_boundary_rounds_onto_the_next_band() -> None:
    plan = plan_trade(1_999.5, 1_900, PARAMS)
    assert isinstance(plan, TradePlan)
    assert (plan.pivot, plan.entry) == (2_000, 2_005)


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(min_value=0.04, max_value=40.0))
def test_every_published_scan_price_is_on_the_grid(scale: float) -> None:
    bars, instruments = fx.universe(fx.vcp_stock(scale=scale), weak=3, strong=0)
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert [c.ticker for c in result.candidates] == ["VCP001"]
    for c in result.candidates:
        assert all(is_on_tick(p) for p in (c.entry_price, c.stop_loss, c.target_price, c.footprint["pivot"]))
