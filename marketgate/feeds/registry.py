"""Price feeds are plugins, registered by name; PRICE_FEED picks one.

The built-in feeds register here. Another package adds its own by calling
`register_feed("name", "package.module.FeedClass")` when it is imported: name the module
in PRICE_FEED_PLUGINS, or expose it as a `stockgate.price_feeds` entry point
(`name = "package.module:FeedClass"`). A factory is a dotted path (imported only when
the feed is chosen, so an unused feed's dependencies never load) or a callable.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from importlib import metadata

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from marketgate.feeds.base import PriceFeed

log = logging.getLogger(__name__)

Factory = Callable[[], PriceFeed]
ENTRY_POINT_GROUP = "stockgate.price_feeds"

_feeds: dict[str, str | Factory] = {}
_plugins_loaded = False


def register_feed(name: str, factory: str | Factory, *, replace: bool = False) -> None:
    name = name.strip().lower()
    if not name:
        raise ValueError("a feed needs a name")
    if name in _feeds and not replace and _feeds[name] != factory:
        raise ImproperlyConfigured(f"price feed {name!r} is already registered ({_feeds[name]!r})")
    _feeds[name] = factory


def unregister_feed(name: str) -> None:
    _feeds.pop(name.strip().lower(), None)


register_feed("demo", "marketgate.feeds.demo.DemoFeed")
register_feed("kis", "marketgate.feeds.kis.session.KisFeed")
register_feed("kiwoom", "marketgate.feeds.kiwoom.session.KiwoomFeed")


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for module in getattr(settings, "PRICE_FEED_PLUGINS", []):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ImproperlyConfigured(f"PRICE_FEED_PLUGINS: cannot import {module!r}: {exc}") from exc
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name not in _feeds:
            register_feed(entry.name, entry.value.replace(":", "."))


def feed_names() -> list[str]:
    _load_plugins()
    return sorted(_feeds)


def create_feed(name: str | None = None) -> PriceFeed:
    _load_plugins()
    key = (name or settings.PRICE_FEED).strip().lower()
    factory = _feeds.get(key)
    if factory is None:
        raise ImproperlyConfigured(f"Unknown PRICE_FEED {key!r}; registered feeds: {', '.join(sorted(_feeds))}")
    if isinstance(factory, str):
        factory = import_string(factory)
    return factory()
