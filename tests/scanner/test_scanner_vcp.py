"""A textbook three-contraction VCP is found, priced and graded as worked out by hand.

The stock (tests/scanner_fixtures.py): base high 50,000; T1 50,000 -> 40,000 (20%),
T2 48,000 -> 43,200 (10%), T3 47,000 -> 45,100 (4.04%); close 46,500.

    pivot  = T3 high                     = 47,000 (on the 50-won grid already)
    entry  = pivot + one tick (50)       = 47,050
    stop   = max(45,100 - 50, ceil(47,050 x 0.92 = 43,286) = 43,300) = 45,050   (-4.25%)
    R      = 2,000; entry + 3R = 53,050 < entry x 1.20 = 56,460 -> ceil to the 100 grid = 56,500
    size   = min(floor(1,000,000 / 2,000) = 500, floor(20,000,000 / 47,050) = 425) = 425
    volume = 10-day 400,000 / 50-day 634,000 (5x900k + 12x800k + 12x700k + 8x500k + 13x400k) = 0.631
    score  = 25 (8/8)
           + 23.51 (last T: 10 x (10 - 4.04) / 7 = 8.51; tightening 8; three Ts 7)
           + 13.89 (dry-up 14 x (0.8 - 0.631) / 0.3 = 7.89; volume falling T1 > T2 > T3: 6)
           + 13.40 (15 x (1 - 1.064% / 10%))
           + 15 (RS 99: it leads its universe)
           = 90.8 -> 91 -> grade S
"""

from __future__ import annotations

import pandas as pd

from signals.scanner.vcp import scan
from tests import scanner_fixtures as fx


def _scan(*stocks: pd.DataFrame, weak: int = 3, strong: int = 0):
    bars, instruments = fx.universe(*stocks, weak=weak, strong=strong)
    return scan(bars, instruments, as_of=fx.AS_OF)


def _only_candidate(*stocks: pd.DataFrame):
    result = _scan(*stocks)
    assert [c.ticker for c in result.candidates] == ["VCP001"], result.rejections
    return result.candidates[0]


def test_a_textbook_vcp_is_found_with_the_hand_computed_prices() -> None:
    c = _only_candidate(fx.vcp_stock())
    assert c.footprint["pivot"] == 47_000
    assert (c.entry_price, c.stop_loss, c.target_price) == (47_050, 45_050, 56_500)


def test_a_textbook_vcp_is_graded_s_with_score_91() -> None:
    c = _only_candidate(fx.vcp_stock())
    assert (c.score, c.grade) == (91, "S")


def test_a_textbook_vcp_position_is_capped_at_20_percent_of_equity() -> None:
    assert _only_candidate(fx.vcp_stock()).position_size == 425


def test_a_textbook_vcp_gives_its_reasons() -> None:
    assert _only_candidate(fx.vcp_stock()).reasons == [
        "Trend Template 8/8",
        "RS 99",
        "3 contractions 20%->10%->4%",
        "Volume 10d/50d 0.63 (dry-up)",
        "Volume falling with each contraction",
        "1.1% below pivot 47,000",
        "Stop 45,050 (-4.3%)",
        "Target 56,500 (+20%)",
    ]


def test_a_textbook_vcp_footprint_records_the_base() -> None:
    fp = _only_candidate(fx.vcp_stock()).footprint
    assert fp["base_length"] == 80
    assert fp["depths"] == [20.0, 10.0, 4.04]
    dates = fx.DATES[-fx.SESSIONS :]
    assert [(t["start"], t["end"]) for t in fp["contractions"]] == [
        (str(dates[i].date()), str(dates[j].date())) for i, j in [(219, 239), (254, 266), (278, 286)]
    ]
    assert (fp["rs"], fp["trend_template"], fp["volume_ratio"]) == (99, 8, 0.631)


def test_a_stock_at_new_highs_has_no_base_yet() -> None:
    result = _scan(fx.frame("LEAD01", fx.geometric(10_000, 30_000)))
    assert result.candidates == []
    assert result.rejections["LEAD01"] == "VCP: Base 0 sessions (need 15-325)"


def test_a_deeper_second_contraction_is_not_a_vcp() -> None:
    legs = list(fx.VCP_LEGS)
    legs[3] = (12, 37_000, 800_000)  # T2 48,000 -> 37,000: 22.9% > 0.75 x 20%
    closes, volumes = fx.path(10_000, legs)
    result = _scan(fx.frame("VCP001", closes, volumes))
    assert result.rejections["VCP001"].startswith("VCP: Contractions not tightening: 20.0%->22.9%")


def test_a_base_without_volume_dry_up_is_not_a_vcp() -> None:
    legs = list(fx.VCP_LEGS)
    legs[-1] = (13, 46_500, 2_000_000)
    closes, volumes = fx.path(10_000, legs)
    result = _scan(fx.frame("VCP001", closes, volumes))
    assert result.rejections["VCP001"].startswith("VCP: Volume 10d/50d 1.")


def test_bars_after_as_of_are_ignored() -> None:
    bars, instruments = fx.universe(fx.vcp_stock(), weak=3, strong=0)
    later = bars[bars["date"] == bars["date"].max()].copy()
    later["date"] = later["date"] + pd.Timedelta(days=1)
    later[["open", "high", "low", "close"]] = 1_000.0  # a crash the next day
    result = scan(pd.concat([bars, later]), instruments, as_of=fx.AS_OF)
    assert [c.ticker for c in result.candidates] == ["VCP001"]
    assert result.stats["scan_date"] == str(fx.AS_OF)


def test_a_candidate_serialises_to_plain_data() -> None:
    import json

    data = _only_candidate(fx.vcp_stock()).to_dict()
    assert json.loads(json.dumps(data))["entry_price"] == 47_050
