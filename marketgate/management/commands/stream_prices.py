"""`manage.py stream_prices`: hold the one upstream quote session and publish prices.

Long-running. Waits while another stream_prices holds the session lock; stops
cleanly on SIGTERM/SIGINT (releases the lock, reports "down").
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand

from marketgate.feeds.base import get_feed
from marketgate.feeds.supervisor import FeedRunner

log = logging.getLogger("marketgate.feeds")


class Command(BaseCommand):
    help = "Hold the single upstream price session and publish price_update / index_update frames."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--feed", help="a registered feed: demo, kis, kiwoom or a plugin's (default: settings.PRICE_FEED)")
        parser.add_argument("--no-index", action="store_true", help="do not publish index_update frames")

    def handle(self, *args: Any, **options: Any) -> None:
        asyncio.run(self._run(options.get("feed"), not options.get("no_index")))

    async def _run(self, feed_name: str | None, publish_index: bool) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        feed = get_feed(feed_name)
        log.info("stream_prices: feed %s", feed.source)
        prepare = getattr(feed, "prepare", None)
        if prepare is not None:
            await prepare()
        await FeedRunner(feed, stop=stop, publish_index=publish_index).run()
        log.info("stream_prices: stopped")
