"""Socket caps by address and the listed-ticker set, without a server.

What must survive: a client cannot escape its address's cap by its port, an IPv6 /64 or
an IPv4-mapped form; made-up tickers cost at most one reload of the set per interval.
"""

from __future__ import annotations

import pytest

from stockgate.realtime import catalog
from stockgate.realtime.admission import Sockets, address_key


def test_the_address_is_the_client_host_an_ipv6_client_counts_by_its_64() -> None:
    assert address_key({"client": ("127.0.0.2", 5555)}) == "127.0.0.2"
    assert address_key({"client": ("::ffff:203.0.113.9", 1)}) == "203.0.113.9"
    assert address_key({"client": ("2001:db8:1:2:aaaa::1", 1)}) == address_key({"client": ("2001:db8:1:2::ffff", 2)})
    assert address_key({"client": ("2001:db8:1:2::1", 1)}) != address_key({"client": ("2001:db8:1:3::1", 1)})
    assert address_key({}) is None and address_key({"client": None}) is None


def test_caps_per_address_and_in_all(settings) -> None:
    settings.WS_MAX_CONNECTIONS_PER_ADDRESS = 2
    settings.WS_MAX_CONNECTIONS = 3
    sockets = Sockets()
    assert sockets.admit("a") is None and sockets.admit("a") is None
    assert "per client address" in str(sockets.admit("a"))
    assert sockets.admit("b") is None
    assert "maximum of 3" in str(sockets.admit(None))
    sockets.release("a")
    assert sockets.admit("a") is None
    sockets.release("a")
    sockets.release("a")
    assert sockets.by_address == {"b": 1} and sockets.total == 1


@pytest.mark.django_db  # the loader runs in Channels' database thread
async def test_unknown_tickers_reload_the_set_at_most_once_per_interval(settings) -> None:
    settings.WS_TICKERS_MISS_REFRESH_SECONDS = 60
    settings.WS_TICKERS_REFRESH_SECONDS = 300
    loads: list[int] = []
    listed = {"005930"}

    def loader() -> set[str]:
        loads.append(1)
        return set(listed)

    tickers = catalog.TickerCatalog()
    tickers.register(loader)
    assert await tickers.knows("005930")
    for n in range(1000):
        assert not await tickers.knows(f"9X{n:04d}")
    assert len(loads) == 2, "the first load, then one reload for all the misses"
    listed.add("9X0001")
    assert not await tickers.knows("9X0001"), "listed after the reload: known at the next one"
    settings.WS_TICKERS_MISS_REFRESH_SECONDS = 0
    assert await tickers.knows("9X0001")


@pytest.mark.parametrize("topic", ["market-gate", "signal:vcp", "ops", "market:kospi"])
async def test_fixed_topics_need_no_listing(topic: str) -> None:
    assert await catalog.exists(topic)
