"""The demo market: deterministic, plausible, and alive during a simulated session."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd

from marketgate.calendar import KST, is_session
from marketgate.data.providers.base import (
    BAR_COLUMNS,
    INDEX_COLUMNS,
    LISTING_COLUMNS,
    MarketDataProvider,
    get_provider,
)
from marketgate.data.providers.demo.history import build_history
from marketgate.data.providers.demo.intraday import build_session
from marketgate.data.providers.demo.provider import DemoProvider
from marketgate.tick_size import is_on_tick

LIVE = datetime(2025, 6, 17, 11, 0, tzinfo=KST)  # a Tuesday session
EVER = (date(2000, 1, 1), date(2100, 1, 1))


def provider(seed: int = 7, at: datetime = LIVE) -> DemoProvider:
    return DemoProvider(seed=seed, n_tickers=300, clock="real", wall_clock=lambda: at)


def test_demo_provider_is_the_default_provider():
    chosen = get_provider()
    assert isinstance(chosen, DemoProvider)
    assert isinstance(chosen, MarketDataProvider)
    assert chosen.is_demo


def test_same_seed_and_date_give_identical_history():
    first = provider().daily_bars(None, *EVER)
    build_history.cache_clear()
    second = provider().daily_bars(None, *EVER)
    pd.testing.assert_frame_equal(first, second)


def test_same_seed_and_time_give_identical_live_quotes():
    first = provider().live_quotes(["005930", "091160"], LIVE)
    build_session.cache_clear()
    build_history.cache_clear()
    assert provider().live_quotes(["005930", "091160"], LIVE) == first


def test_another_seed_gives_another_market():
    a = provider(seed=7).index_bars("KOSPI", *EVER)
    b = provider(seed=8).index_bars("KOSPI", *EVER)
    assert not a["close"].equals(b["close"])


def test_history_has_the_interface_columns():
    p = provider()
    assert list(p.daily_bars(["005930"], *EVER).columns) == BAR_COLUMNS
    assert list(p.index_bars("KOSDAQ", *EVER).columns) == INDEX_COLUMNS
    assert list(p.listing().columns) == LISTING_COLUMNS


def test_history_ends_at_the_session_before_the_live_one_and_skips_closed_days():
    dates = sorted(set(provider().daily_bars(["005930"], *EVER)["date"]))
    assert dates[-1] == date(2025, 6, 16)
    assert len(dates) >= 300
    assert all(is_session(d) for d in dates)
    assert date(2025, 6, 3) not in dates  # the ad-hoc election holiday


def test_every_traded_price_is_on_the_tick_grid():
    bars = provider().daily_bars(None, *EVER)
    traded = bars[bars["open"] > 0]
    prices = np.concatenate([traded[c].to_numpy() for c in ("open", "high", "low", "close")])
    assert all(is_on_tick(p) for p in np.unique(prices))


def test_bars_are_consistent_and_within_the_daily_limit():
    bars = provider().daily_bars(None, *EVER).sort_values(["ticker", "date"])
    traded = bars[bars["open"] > 0]
    assert (traded["high"] >= traded[["open", "close"]].max(axis=1)).all()
    assert (traded["low"] <= traded[["open", "close"]].min(axis=1)).all()
    prev = bars.groupby("ticker")["close"].shift()
    assert ((bars["close"] / prev).dropna().between(0.699, 1.301)).all()


def test_most_tickers_pass_the_traded_value_filter():
    bars = provider().daily_bars(None, *EVER).sort_values(["ticker", "date"])
    value20 = bars.groupby("ticker")["traded_value"].apply(lambda s: s.iloc[-20:].mean())
    assert (value20 >= 5e9).mean() > 0.8


def test_a_halted_stock_has_zero_open_and_volume_and_the_previous_close():
    bars = provider().daily_bars(None, *EVER)
    halted = bars[bars["open"] == 0]
    assert len(halted) >= 1
    assert (halted["volume"] == 0).all()
    assert (halted["close"] > 0).all()


def test_indices_are_on_their_usual_scales_with_volume():
    p = provider()
    kospi, kosdaq = p.index_bars("KOSPI", *EVER), p.index_bars("KOSDAQ", *EVER)
    assert 2_600 <= kospi["close"].iloc[-1] <= 3_000
    assert 800 <= kosdaq["close"].iloc[-1] <= 900
    assert kospi["volume"].median() > 1e8 and kospi["traded_value"].median() > 1e12


def test_listing_exercises_the_universe_filters():
    listing = provider().listing()
    assert set(listing["market"]) == {"KOSPI", "KOSDAQ"}
    assert {"common", "preferred", "etf", "spac", "reit"} <= set(listing["kind"])
    assert listing["ticker"].is_unique and listing["name"].is_unique
    assert listing["ticker"].str.fullmatch(r"\d{6}").all()
    assert "삼성전자" in set(listing["name"])


def test_some_stocks_form_textbook_vcp_setups():
    history = build_history(7, 300, date(2025, 6, 16))
    vcp = [i.ticker for i in history.instruments if i.style == "vcp"]
    assert len(vcp) >= 5
    for ticker in vcp:
        bars = history.bars[history.bars["ticker"] == ticker]
        close, volume, high = bars["close"].to_numpy(), bars["volume"].to_numpy(), bars["high"].to_numpy()
        assert volume[-10:].mean() / volume[-50:].mean() < 0.8  # dry-up
        assert close[-1] >= 0.9 * high[-130:].max()  # near the top of the base
        assert close[-1] >= 1.3 * bars["low"].to_numpy()[-252:].min()  # well above the 52-week low


def test_live_index_wanders_during_a_session():
    p = provider()
    day = datetime(2025, 6, 17, 9, 0, tzinfo=KST)
    rates = [p.live_index("KOSPI", day + timedelta(minutes=m)).change_rate for m in range(1, 390, 10)]
    assert max(rates) - min(rates) >= 0.8


def test_live_index_as_of_is_the_simulated_time():
    quote = DemoProvider(seed=7, n_tickers=300, clock="accelerated", session_minutes=30).live_index(
        "KOSPI", datetime(2025, 6, 17, 14, 15, tzinfo=KST)
    )
    assert quote.as_of == datetime(2025, 6, 17, 12, 15, tzinfo=KST)


def test_live_quotes_start_from_the_previous_close_before_the_open():
    p = provider(at=datetime(2025, 6, 17, 8, 30, tzinfo=KST))
    quote = p.live_quotes(["005930"], datetime(2025, 6, 17, 8, 30, tzinfo=KST))["005930"]
    last = p.daily_bars(["005930"], *EVER)["close"].iloc[-1]
    assert quote.price == last and quote.change == 0 and quote.volume == 0


def test_live_quotes_are_on_the_tick_grid_with_a_spread():
    quotes = provider().live_quotes(["005930", "000660", "091160"], LIVE)
    for q in quotes.values():
        assert is_on_tick(q.price) and is_on_tick(q.bid)
        assert q.bid < q.price == q.ask
        assert q.volume > 0


def test_a_closed_session_joins_the_history_with_the_real_clock():
    after = datetime(2025, 6, 17, 16, 0, tzinfo=KST)
    p = provider(at=after)
    bars = p.daily_bars(["005930"], *EVER)
    assert bars["date"].iloc[-1] == date(2025, 6, 17)
    assert bars["close"].iloc[-1] == p.live_quotes(["005930"], after)["005930"].price


def test_sectors_are_the_sector_etfs_with_their_change():
    sectors = provider().sectors(LIVE)
    assert {"091160", "305720", "091170", "091180", "143860"} <= {s["ticker"] for s in sectors}
    assert all(isinstance(s["change_pct"], float) for s in sectors)


def test_demo_ticks_yield_only_price_changes_in_time_order():
    p = provider()
    ticks = list(p.demo_ticks(["005930", "000660"], LIVE, LIVE + timedelta(minutes=10), timedelta(seconds=5)))
    assert ticks
    times = [t.as_of for t in ticks]
    assert times == sorted(times)
    for ticker in ("005930", "000660"):
        prices = [t.price for t in ticks if t.ticker == ticker]
        assert all(a != b for a, b in pairwise(prices))


def test_demo_ticks_of_consecutive_windows_equal_one_window():
    p = provider()
    mid, end = LIVE + timedelta(minutes=5), LIVE + timedelta(minutes=10)
    whole = list(p.demo_ticks(["005930"], LIVE, end))
    split = list(p.demo_ticks(["005930"], LIVE, mid)) + list(p.demo_ticks(["005930"], mid, end))
    assert whole == split
