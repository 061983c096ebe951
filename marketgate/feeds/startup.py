"""What the live-price code hooks into the transport and the scheduler at start-up
(AppConfig.ready: `install()`)."""

from __future__ import annotations


def _listed_tickers() -> list[str]:
    """Every instrument's ticker (delisted ones too: a page may still show them)."""
    from marketgate.models import Instrument

    return list(Instrument.objects.values_list("ticker", flat=True))


def install() -> None:
    from marketgate.feeds import demand, quotes
    from stockgate import schedules
    from stockgate.realtime import catalog, presence, snapshots

    catalog.register_tickers(_listed_tickers)  # price topics exist for these only
    snapshots.register("price", quotes.price_snapshot)
    snapshots.register("market", quotes.index_snapshot)
    presence.on_demand_change(demand.track)
    schedules.register(
        schedules.DefaultSchedule(
            "store-intraday-bars",
            "marketgate.tasks_intraday.store_intraday_bars",
            every_seconds=60,
            expire_seconds=55,
            description="Store the price feed's completed 1-minute bars; complete the daily bar after the close.",
        )
    )
