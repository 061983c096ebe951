"""Demand-driven registrations: what every web process wants, within the upstream's limit."""

from __future__ import annotations

import asyncio

import pytest

from marketgate.feeds import demand
from marketgate.feeds.demand import DemandTracker, demand_by_ticker, demanded_tickers
from marketgate.feeds.fairness import FairnessRule, Registrations, rank

RULE = FairnessRule(limit=10, client_votes=4, min_hold_seconds=60, changes_per_minute=20, burst=10)
REAL = {f"{n:06d}" for n in range(100, 200)} | {"005930", "000660"}


def test_own_demand_comes_first_and_fakes_never_rank():
    ranked = rank(["005930", "000660"], {"000660": {"a"}, "000101": {"a"}, "999999": {"a"}}, REAL, RULE)
    assert ranked == ["005930", "000660", "000101"]  # 999999 is no instrument


def test_a_ticker_many_clients_want_outranks_one_client_wants():
    demand_ = {"000150": {"a", "b", "c"}, "000101": {"a"}, "000102": {"b", "c"}}
    assert rank([], demand_, REAL, RULE) == ["000150", "000102", "000101"]


def test_one_client_moves_at_most_its_share_however_many_tickers_it_wants():
    """38 subscriptions from one hostile client: 4 of them rank, everyone else's all do."""
    hostile = {f"{n:06d}": {"hostile"} for n in range(100, 138)}
    legit = {"000160": {"b"}, "000161": {"c"}, "000162": {"b", "c"}}
    ranked = rank(["005930"], {**hostile, **legit}, REAL, RULE)
    assert ranked[:4] == ["005930", "000162", "000160", "000161"]
    assert len([t for t in ranked if t in hostile]) == 4 and len(ranked) == 8


def test_ties_keep_what_is_registered():
    demand_ = {"000101": {"a"}, "000102": {"b"}}
    assert rank([], demand_, REAL, RULE, registered={"000102"}) == ["000102", "000101"]


def test_a_registration_is_held_its_minimum_time_and_changes_spend_a_budget():
    plan = Registrations(RULE)
    first = [f"{n:06d}" for n in range(100, 110)]
    assert plan.plan(first, now=0.0) == ([], first)  # a fresh session fills its slots at once
    rotated = [f"{n:06d}" for n in range(110, 120)]
    assert plan.plan(rotated, now=30.0) == ([], [])  # held: nothing moves within 60 s
    released, registered = plan.plan(rotated, now=61.0)
    # The bucket holds at most `burst` (10) changes: 5 release + register pairs now...
    assert len(released) == len(registered) == 5
    assert plan.plan(rotated, now=62.0) == ([], [])  # ...and nothing more until it refills
    assert set(registered) <= set(rotated) and set(released) <= set(first)
    assert len(plan.since) == RULE.limit  # the limit is never exceeded


def test_rotating_demand_churns_at_most_the_budget_per_minute():
    """A client that rotates every second for ten minutes: changes stay within
    burst + changes_per_minute a minute, and no registration lives less than 60 s."""
    plan = Registrations(RULE)
    changes, lived = 0, []
    for second in range(600):
        wanted = [f"{100 + (second * 7 + k) % 90:06d}" for k in range(10)]
        before = dict(plan.since)
        released, registered = plan.plan(wanted, now=float(second))
        changes += len(released) + len(registered)
        lived += [second - before[t] for t in released]
    assert changes <= RULE.burst + 20 * 10 + 1
    assert min(lived) >= 60


@pytest.mark.parametrize("registered", [set(), {"000101"}])
def test_what_nobody_wants_is_released_after_its_hold(registered):
    plan = Registrations(RULE)
    plan.plan(["000101"], now=0.0)
    assert plan.plan([], now=10.0) == ([], [])
    assert plan.plan([], now=60.0) == (["000101"], [])


async def test_demand_is_the_union_over_web_processes_and_follows_the_last_subscriber(clean_redis):
    one, two = DemandTracker("web-1"), DemandTracker("web-2")
    await one.change("price:005930", True, "addr:10.0.0.1")
    await two.change("price:005930", True, "addr:10.0.0.2")
    await two.change("price:000660", True, "addr:10.0.0.2")
    await two.change("market:kospi", True, "addr:10.0.0.2")  # not a price topic: not demand
    by_ticker = await demand_by_ticker()
    assert set(by_ticker) == {"005930", "000660"} and len(by_ticker["005930"]) == 2  # two clients
    assert not any("10.0.0" in who for clients in by_ticker.values() for who in clients)  # hashed
    await two.change("price:000660", False, "addr:10.0.0.2")
    assert await demanded_tickers() == {"005930"}


async def test_a_dead_web_process_demand_expires(clean_redis, settings):
    settings.PRICE_DEMAND_TTL_SECONDS = 1
    tracker = DemandTracker("web-dead")
    await tracker.change("price:005930", True)
    tracker._heartbeat.cancel()  # the process dies: nobody renews its demand
    await asyncio.sleep(1.3)
    assert await demanded_tickers() == set()


@pytest.mark.django_db
async def test_wanted_tickers_reports_what_did_not_fit_and_skips_what_is_no_instrument(clean_redis, settings):
    from asgiref.sync import sync_to_async

    from marketgate.models import Instrument

    for ticker in ("000660", "035720", "051910"):
        await sync_to_async(Instrument.objects.create)(ticker=ticker, name=ticker)
    demand.forget_cached()
    settings.PRICE_WATCHLIST = ["005930"]
    settings.PRICE_MAX_REGISTRATIONS = 2
    tracker = DemandTracker("web-3")
    for ticker in ("000660", "035720", "051910", "999999"):
        await tracker.change(f"price:{ticker}", True, f"addr:{ticker}")
    ranked, unserved = await demand.wanted_tickers()
    assert ranked[:2] == ["005930", "000660"] and "999999" not in ranked and unserved == 2
    demand.forget_cached()


@pytest.mark.django_db
def test_the_signals_own_demand_is_the_latest_scan_by_score_then_open_positions(settings):
    """What every trader's dashboard shows live comes before any client's demand."""
    from datetime import date

    from signals.live_demand import signal_tickers
    from signals.models import OutcomeStatus, SignalOutcome
    from tests import factories

    older = factories.signal("000300", signal_date=date(2026, 1, 5))
    SignalOutcome.objects.create(signal=older, status=OutcomeStatus.OPEN)
    closed = factories.signal("000400", signal_date=date(2026, 1, 5))
    SignalOutcome.objects.create(signal=closed, status=OutcomeStatus.STOP)
    factories.signal("000100", signal_date=date(2026, 2, 3), score=70)
    factories.signal("000200", signal_date=date(2026, 2, 3), score=90)
    assert signal_tickers() == ["000200", "000100", "000300"]
    settings.PRICE_SIGNAL_TICKERS = 2
    assert signal_tickers() == ["000200", "000100"]


@pytest.mark.parametrize(
    ("scope", "client"),
    [
        ({"client": ("10.1.2.3", 50000)}, "addr:10.1.2.3"),
        ({"client": ("2001:db8:1:2:3:4:5:6", 1)}, "addr:2001:db8:1:2::/64"),  # one subscriber's /64 is one client
        ({"client": ("2001:db8:1:2:ffff::1", 1)}, "addr:2001:db8:1:2::/64"),
        ({"client": ("::ffff:10.0.0.1", 1)}, "addr:10.0.0.1"),
        ({}, "socket:s1"),
    ],
)
def test_a_client_is_its_address_or_network_and_sockets_never_make_more(scope, client):
    from stockgate.realtime.presence import client_key

    assert client_key(scope, "s1") == client


def test_a_signed_in_user_is_one_client_from_any_address():
    from types import SimpleNamespace

    from stockgate.realtime.presence import client_key

    user = SimpleNamespace(is_authenticated=True, pk=7)
    assert client_key({"user": user, "client": ("10.0.0.9", 1)}, "s") == "user:7"
