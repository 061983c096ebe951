"""Delivering alerts (with retries and a per-destination rate limit) and watching prices."""

from __future__ import annotations

import json
import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from stockgate.alerts.models import AlertDelivery, DeliveryStatus, EventKind
from stockgate.alerts.transports import BadDestination, SendError, send
from stockgate.realtime.redis_conn import sync_client

log = logging.getLogger(__name__)


def retry_countdown(retries: int) -> float:
    return settings.ALERTS_RETRY_BACKOFF_SECONDS * (2**retries)


def rate_wait(destination_id: int, interval: float) -> float:
    """0 when the destination may be sent to now (the slot is taken), else seconds to wait."""
    if interval <= 0:
        return 0.0
    client = sync_client()
    key = f"{settings.REALTIME_PREFIX}:alerts:rate:{destination_id}"
    if client.set(key, "1", nx=True, px=max(1, int(interval * 1000))):
        return 0.0
    return max(0.05, (client.pttl(key) or 0) / 1000)


@shared_task(bind=True, name="stockgate.alerts.tasks.deliver", acks_late=True, max_retries=None)
def deliver(self: Any, delivery_id: int) -> str:
    delivery = AlertDelivery.objects.select_related("destination").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return "gone" if delivery is None else delivery.status
    destination = delivery.destination
    wait = rate_wait(destination.pk, destination.min_interval_seconds)
    if wait > 0:
        # Not an attempt: the destination is busy. Come back when its slot frees.
        deliver.apply_async(args=[delivery_id], countdown=wait)
        return "rate-limited"
    delivery.attempts += 1
    try:
        send(destination, delivery)
    except (SendError, BadDestination) as exc:
        delivery.last_error = f"attempt {delivery.attempts}: {exc}"[:2000]
        if isinstance(exc, BadDestination) or delivery.attempts > settings.ALERTS_MAX_RETRIES:
            delivery.status = DeliveryStatus.FAILED
            delivery.save(update_fields=["attempts", "last_error", "status"])
            log.error("alert %s to %s failed after %d attempt(s): %s", delivery.pk, destination, delivery.attempts, exc)
            return "failed"
        delivery.save(update_fields=["attempts", "last_error"])
        countdown = retry_countdown(delivery.attempts - 1)
        log.warning("alert %s to %s: %s; retry in %.1fs", delivery.pk, destination, exc, countdown)
        deliver.apply_async(args=[delivery_id], countdown=countdown)
        return "retrying"
    delivery.status, delivery.sent_at = DeliveryStatus.SENT, timezone.now()
    delivery.save(update_fields=["attempts", "status", "sent_at"])
    log.info("alert %s sent to %s (%s)", delivery.pk, destination, delivery.event)
    return "sent"


@shared_task(name="stockgate.alerts.tasks.check_price_alerts", ignore_result=True)
def check_price_alerts() -> int:
    """Each price rule: when the last quote is on the other side of its level than last
    time (in the rule's direction), one alert. The first look only notes the side."""
    from marketgate.feeds.quotes import quotes_key
    from stockgate.alerts.events import Event, active_rules, record

    rules = list(active_rules(EventKind.PRICE_CROSS))
    if not rules:
        return 0
    tickers = sorted({str(r.params.get("ticker")) for r in rules})
    raw = sync_client().hmget(quotes_key(), tickers)
    quotes = {t: json.loads(q) for t, q in zip(tickers, raw) if q}
    sent = 0
    for rule in rules:
        quote = quotes.get(str(rule.params.get("ticker")))
        if quote is None:
            continue
        level = float(rule.params["level"])
        side = "above" if quote["price"] >= level else "below"
        before = rule.state.get("side")
        if before == side:
            continue
        rule.state = {"side": side, "as_of": quote["as_of"]}
        rule.save(update_fields=["state"])
        direction = rule.params.get("direction", "both")
        if before is None or direction not in ("both", side):
            continue
        data = {"ticker": quote["ticker"], "price": quote["price"], "level": level, "side": side,
                "as_of": quote["as_of"][11:19]}
        sent += len(record(Event(EventKind.PRICE_CROSS, f"price:{rule.pk}:{side}:{quote['as_of']}", data), [rule]))
    return sent
