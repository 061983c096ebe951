"""/ws/stats (per process and total, from Redis) and the broadcast log line."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from marketgate.calendar import KST
from stockgate.apitokens.models import ApiToken
from stockgate.realtime import wsstats

pytestmark = pytest.mark.django_db


def _entry(process: str, topics: dict[str, int], age: float = 0.0, connections: int = 1) -> str:
    at = datetime.now(KST) - timedelta(seconds=age)
    return json.dumps({"process": process, "connections": connections, "subscriptions": sum(topics.values()),
                       "topics": topics, "updated_at": at.isoformat()})


def test_stats_add_up_live_processes_and_forget_dead_ones(clean_redis):
    clean_redis.hset(wsstats.stats_key(), mapping={
        "a:1": _entry("a:1", {"signal:vcp": 2, "market-gate": 1}, connections=2),
        "b:2": _entry("b:2", {"signal:vcp": 1}),
        "c:3": _entry("c:3", {"signal:vcp": 9}, age=3600),  # stopped reporting an hour ago
    })
    stats = wsstats.cluster_stats()
    assert [p["process"] for p in stats["processes"]] == ["a:1", "b:2"]
    assert stats["total"] == {"processes": 2, "connections": 3, "subscriptions": 4,
                              "topics": {"market-gate": 1, "signal:vcp": 3}}
    assert not clean_redis.hexists(wsstats.stats_key(), "c:3")


def test_local_counts_follow_joins_and_leaves():
    before = wsstats.local_subscribers("price:005930")
    wsstats.joined("price:005930")
    wsstats.joined("price:005930")
    wsstats.left("price:005930")
    assert wsstats.local_subscribers("price:005930") == before + 1
    wsstats.left("price:005930")
    assert wsstats.local_subscribers("price:005930") == before


def test_every_broadcast_is_logged_but_price_topics_at_most_once_per_period(caplog, settings):
    settings.WS_BROADCAST_LOG_SECONDS = 10
    caplog.set_level(logging.INFO, logger="stockgate.realtime.broadcast")
    assert wsstats.log_broadcast("market-gate", 7, 3)
    assert wsstats.log_broadcast("market-gate", 8, 3)
    logged = [wsstats.log_broadcast("price:000660", seq, 2, now=1000.0 + seq * 0.1) for seq in range(1, 21)]
    assert logged[0] and not any(logged[1:])
    assert wsstats.log_broadcast("price:000660", 99, 2, now=1011.0)
    lines = [r.getMessage() for r in caplog.records]
    assert "broadcast topic=market-gate seq=7 subscribers=3" in lines
    assert "broadcast topic=price:000660 seq=99 subscribers=2 (+19 more since the last line)" in lines
    assert all(r.levelno == logging.INFO for r in caplog.records)


def test_ws_stats_is_for_staff_or_a_read_token(clean_redis):
    assert Client().get("/ws/stats").status_code == 401
    viewer = get_user_model().objects.create_user("viewer")
    session = Client()
    session.force_login(viewer)
    assert session.get("/ws/stats").status_code == 403
    _, read = ApiToken.issue(viewer, "monitoring", "read")
    _, alerts_only = ApiToken.issue(viewer, "alerts", "alerts")
    assert Client().get("/ws/stats", HTTP_AUTHORIZATION=f"Bearer {alerts_only}").status_code == 403
    response = Client().get("/ws/stats", HTTP_AUTHORIZATION=f"Bearer {read}")
    assert response.status_code == 200 and set(response.json()) == {"processes", "total", "generated_at"}
    staff = Client()
    staff.force_login(get_user_model().objects.create_user("ops", is_staff=True))
    assert staff.get("/ws/stats").status_code == 200
