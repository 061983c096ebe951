"""The per-ticker reference (benchmarks only) and the vectorised scanner agree."""

from __future__ import annotations

from benchmarks.scan_reference import reference_scan
from signals.scanner.vcp import scan
from tests import scanner_fixtures as fx


def test_reference_and_scanner_pass_the_same_trend_template_set() -> None:
    bars, instruments = fx.random_universe(60)
    fast = scan(bars, instruments, as_of=fx.AS_OF)
    slow = reference_scan(bars, instruments, as_of=fx.AS_OF)
    # Past the Trend Template a ticker is either a candidate or rejected by a VCP rule.
    passed = {t for t, why in fast.rejections.items() if why.startswith(("VCP:", "Score"))}
    passed |= {c.ticker for c in fast.candidates}
    assert fast.universe_count == len(slow.universe)
    assert fast.trend_template_count == len(slow.trend_template) > 0
    assert passed == slow.trend_template


def test_reference_and_scanner_find_the_same_candidates() -> None:
    bars, instruments = fx.universe(fx.vcp_stock(), fx.flat_stock(), fx.downtrend_stock(), weak=3, strong=0)
    fast = scan(bars, instruments, as_of=fx.AS_OF)
    slow = reference_scan(bars, instruments, as_of=fx.AS_OF)
    assert [c.to_dict() for c in fast.candidates] == [c.to_dict() for c in slow.candidates]
