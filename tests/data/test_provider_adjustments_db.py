"""The fdr provider's adjusted series in the daily ingest, on recorded responses: a 20%
bonus issue (000010 ex 2025-06-11, under the price limit) is stored as a provider
factor from the lookback the same request returned, the bars stay as traded, and a
hand-entered factor is kept while a price-limit estimate gives way to the provider's."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from marketgate.data import bulk, market_upserts
from marketgate.data.adjustment_store import adjusted, refresh_adjustments, refresh_provider_adjustments
from marketgate.data.ingest import ingest
from marketgate.data.providers.fdr import FdrProvider
from marketgate.models import AdjustmentFactor, DailyBar

pytestmark = pytest.mark.django_db

EX_DATE = date(2025, 6, 11)
# 000010 as traded up to 2025-06-13 (stored by earlier ingests); Naver's chart of it
# (tests/fixtures/fdr/naver_fchart_000010.xml) is adjusted: before the ex-date / 1.2.
TRADED = [
    (date(2025, 6, 2), 10400, 10550, 10350, 10500), (date(2025, 6, 4), 10500, 10650, 10450, 10600),
    (date(2025, 6, 5), 10600, 10750, 10550, 10700), (date(2025, 6, 9), 10700, 10750, 10600, 10650),
    (date(2025, 6, 10), 10650, 10850, 10600, 10800), (EX_DATE, 9000, 9120, 8980, 9050),
    (date(2025, 6, 12), 9050, 9150, 9020, 9100), (date(2025, 6, 13), 9100, 9130, 9040, 9080),
]


@pytest.fixture
def stored():
    market_upserts.ensure_instruments(["000010"])
    bars = pd.DataFrame(TRADED, columns=["date", "open", "high", "low", "close"]).assign(
        ticker="000010", volume=100_000, traded_value=None, halted=False)
    bulk.upsert_daily_bars(bars)


def run_ingest(replay) -> list[str]:
    provider = FdrProvider(sleep=lambda s: None, adapter=replay)
    return ingest(provider, date(2025, 6, 16), date(2025, 6, 17), per_ticker=True).adjustments


def test_a_bonus_issue_under_the_limit_is_read_from_the_adjusted_series(stored, http, replay):
    assert refresh_adjustments(["000010"], date(2025, 6, 2), date(2025, 6, 13)).empty  # -16%: under the limit
    report = run_ingest(replay)
    assert report == ["000010 2025-06-11: ÷1.2 (provider's adjusted series; close 10,800 -> open 9,000)"]
    factor = AdjustmentFactor.objects.get(ticker="000010")
    assert (factor.ex_date, factor.source) == (EX_DATE, "provider") and factor.factor == pytest.approx(1.2)
    # One request for the ticker: the lookback came in the same response.
    assert sum("symbol=000010" in url for url in http) == 1
    # Stored as traded; read through the factor, the history is continuous.
    assert DailyBar.objects.get(instrument_id="000010", date=date(2025, 6, 10)).close == 10800
    assert DailyBar.objects.get(instrument_id="000010", date=date(2025, 6, 17)).close == 9200
    rows = pd.DataFrame.from_records(list(DailyBar.objects.filter(instrument_id="000010").values(
        "instrument_id", "date", "open", "high", "low", "close", "volume"))).rename(columns={"instrument_id": "ticker"})
    closes = adjusted(rows).set_index("date")["close"]
    assert closes[date(2025, 6, 10)] == pytest.approx(9000) and closes[date(2025, 6, 17)] == 9200
    assert not AdjustmentFactor.objects.exclude(ticker="000010").exists()  # 005930's chart has no step


def test_a_second_ingest_adds_nothing(stored, http, replay):
    run_ingest(replay)
    adjusted_closes = FdrProvider(sleep=lambda s: None, adapter=replay)
    adjusted_closes.daily_bars(["000010"], date(2025, 6, 16), date(2025, 6, 17))
    assert refresh_provider_adjustments(adjusted_closes.last_adjusted).empty
    assert AdjustmentFactor.objects.count() == 1


def test_a_manual_factor_is_kept_and_a_price_limit_estimate_gives_way(stored, http, replay):
    AdjustmentFactor.objects.create(ticker="000010", ex_date=EX_DATE, factor=1.25, source="manual")
    assert run_ingest(replay) == []
    assert AdjustmentFactor.objects.get(ticker="000010").factor == 1.25

    AdjustmentFactor.objects.filter(ticker="000010").update(factor=1.19, source="price_limit")
    provider = FdrProvider(sleep=lambda s: None, adapter=replay)
    provider.daily_bars(["000010"], date(2025, 6, 16), date(2025, 6, 17))
    assert refresh_provider_adjustments(provider.last_adjusted)["factor"].tolist() == [pytest.approx(1.2)]
    assert AdjustmentFactor.objects.get(ticker="000010").source == "provider"
    # ... and the price-limit estimate does not overwrite it (an ex-date open beyond the limit).
    DailyBar.objects.filter(instrument_id="000010", date=EX_DATE).update(open=5000)
    assert refresh_adjustments(["000010"], EX_DATE, EX_DATE).empty
    assert AdjustmentFactor.objects.get(ticker="000010").factor == pytest.approx(1.2)


def test_the_provider_returns_the_asked_sessions_and_keeps_the_lookback_closes(http, replay):
    provider = FdrProvider(sleep=lambda s: None, adapter=replay)
    bars = provider.daily_bars(["000010"], date(2025, 6, 16), date(2025, 6, 17))
    assert bars["date"].tolist() == [date(2025, 6, 16), date(2025, 6, 17)]
    lookback = provider.last_adjusted
    assert list(lookback.columns) == ["ticker", "date", "close"]
    assert lookback["date"].min() == date(2025, 6, 2) and lookback["date"].max() == date(2025, 6, 17)
    assert lookback.set_index("date").loc[date(2025, 6, 10), "close"] == 9000  # 10,800 / 1.2
