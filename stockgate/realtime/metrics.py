"""Prometheus metrics of the transport (per process; /metrics exposes them)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# livesum: summed over live processes in prometheus_client multiprocess mode.
CONNECTIONS = Gauge("stockgate_ws_connections", "Open WebSocket connections", multiprocess_mode="livesum")
SUBSCRIPTIONS = Gauge(
    "stockgate_ws_subscriptions", "Subscriptions by topic kind", ["kind"], multiprocess_mode="livesum"
)
CONNECTIONS_REFUSED = Counter(
    "stockgate_ws_connections_refused_total", "Sockets closed with 4029: over the process's or an address's cap"
)
FRAMES_SENT = Counter("stockgate_ws_frames_sent_total", "Frames queued to sockets")
FRAMES_DROPPED = Counter("stockgate_ws_frames_dropped_total", "Frames dropped (slow clients, closed sockets)")
SLOW_DISCONNECTS = Counter("stockgate_ws_slow_disconnects_total", "Sockets closed with 4008 for not keeping up")
ERRORS_SENT = Counter("stockgate_ws_errors_total", "Error frames sent by code", ["code"])
BROADCASTS = Counter("stockgate_broadcasts_total", "Broadcasts published by topic kind", ["kind"])
BROADCAST_FAILURES = Counter("stockgate_broadcast_failures_total", "Broadcasts that failed", ["kind"])
FANOUT_SECONDS = Histogram(
    "stockgate_fanout_seconds",
    "Time to hand one broadcast to every local socket",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
DIRECT_SOCKETS = Gauge(
    "stockgate_ws_direct_sockets",
    "Open sockets whose frames take the fast path (wire bytes straight to uvicorn's transport)",
    multiprocess_mode="livesum",
)
DELIVERY_FAILURES = Counter("stockgate_layer_delivery_failures_total", "Group messages a consumer failed to handle")
MALFORMED_MESSAGES = Counter("stockgate_layer_malformed_total", "Undecodable messages dropped by the channel layer")
GAP_REPAIRS = Counter("stockgate_ws_gap_repairs_total", "Missed frames repaired by the server", ["how"])
HANDLER_FAILURES = Counter(
    "stockgate_ws_handler_failures_total", "Unexpected exceptions in a consumer's handlers (answered, not fatal)", ["place"]
)
SNAPSHOT_LOADS = Counter(
    "stockgate_ws_snapshot_loads_total",
    "Snapshots handed to sockets, by source: query (a provider ran), shared (joined a query in flight), cache",
    ["source"],
)
REPLAYED_FRAMES = Counter("stockgate_ws_replayed_frames_total", "Frames replayed to sockets for `since`")
PERMISSION_DROPS = Counter(
    "stockgate_ws_permission_drops_total", "Held topics dropped because the session ended or the rule now denies"
)
