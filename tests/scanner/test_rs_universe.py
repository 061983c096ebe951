"""RS on a past date ranks every name that traded that day, including names delisted
since (absent from today's listing): no survivorship. Real file: the KRX market
2023-12..2025-06 with the 2026 listing."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from marketgate.data.market_files import parse_listing
from signals.scanner.vcp import scan

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def market():
    from tests.conftest import KRX_DATA

    if not KRX_DATA.is_dir():
        pytest.skip("real KRX data not found")
    bars = pd.read_csv(KRX_DATA / "stocks_daily_2023-12_2025-06.csv.gz", dtype={"ticker": str})
    listing, _ = parse_listing(KRX_DATA / "listing.csv")
    return bars, listing


def test_delisted_names_are_rs_peers_on_2024_12_30(market):
    bars, listing = market
    day = date(2024, 12, 30)
    now = scan(bars, listing, as_of=day)
    survivors_only = scan(bars[bars["ticker"].isin(listing["ticker"])], listing, as_of=day)
    # Four names that traded (liquid, priced, with history) on 2024-12-30 are gone from
    # the 2026 listing; ranked among them, one name no longer clears the RS bar.
    assert now.stats["rs_peers_not_listed"] == 4
    assert survivors_only.stats["rs_peers_not_listed"] == 0
    assert now.universe_count == survivors_only.universe_count == 373
    assert (now.trend_template_count, survivors_only.trend_template_count) == (59, 60)
    listed = set(listing["ticker"])
    assert all(c.ticker in listed for c in now.candidates), "a delisted peer is never signalled"


def test_on_2025_03_31_an_rs_reading_moves_with_the_delisted_peers(market):
    bars, listing = market
    day = date(2025, 3, 31)
    rs = {c.ticker: c.footprint["rs"] for c in scan(bars, listing, as_of=day).candidates}
    old = {c.ticker: c.footprint["rs"] for c in scan(bars[bars["ticker"].isin(listing["ticker"])], listing,
                                                     as_of=day).candidates}
    assert (rs["139480"], old["139480"]) == (76, 75)
