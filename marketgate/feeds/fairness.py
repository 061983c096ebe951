"""The feed's fairness rule: who gets the upstream's few registration slots, and how fast
they may change hands. Pure: demand, the time and the registrations are passed in.

Order of the slots (docs/operations.md, "the feed's fairness rule"):

1. The system's own demand: the watchlist, then the tickers of the latest signals and of
   open positions (signals' own order). Never subject to the client rules.
2. Clients' demand, real instruments only. Each client (a signed-in user, else an
   address) votes for at most `client_votes` tickers: its tickers that most other
   clients want too. Tickers rank by their votes, so a ticker many clients watch comes
   before one that a single client watches, and one client, however many tickers or
   sockets it opens, moves at most `client_votes` tickers into the slots. Among tickers
   with as many votes, a client's one unit of weight is split over its votes: a client
   that wants one ticker outranks one that spreads itself over four.

Changes then pass through `plan_changes`: a registration is kept at least
`min_hold_seconds`, and registers plus releases spend a token bucket (`burst` tokens,
refilled at `changes_per_minute`), so rotating subscriptions cannot churn the session.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FairnessRule:
    limit: int  # the upstream's registration slots
    client_votes: int  # tickers one client can move into the slots
    min_hold_seconds: float  # a registration is released no sooner than this
    changes_per_minute: float  # registers + releases, sustained
    burst: int  # registers + releases at once (a fresh session fills its slots with these)


def rank(
    own: Iterable[str],
    demand: Mapping[str, Collection[str]],
    known: Collection[str],
    rule: FairnessRule,
    registered: Collection[str] = (),
) -> list[str]:
    """Every ticker that deserves a slot, best first (the caller keeps the first `limit`).

    `demand` maps a ticker to the clients that want it; `known` holds the real
    instruments (anything else is never ranked); among equals a ticker already
    registered comes first, so ties never swap registrations."""
    ranked = list(dict.fromkeys(own))
    taken = set(ranked)
    wanted = {t: set(clients) for t, clients in demand.items() if t in known and t not in taken and clients}
    if not wanted or rule.client_votes <= 0:
        return ranked
    by_client: dict[str, list[str]] = {}
    for ticker, clients in wanted.items():
        for client in clients:
            by_client.setdefault(client, []).append(ticker)
    held = set(registered)

    def popularity(ticker: str) -> tuple[int, bool, str]:
        return (-len(wanted[ticker]), ticker not in held, ticker)

    votes: dict[str, int] = {}
    weight: dict[str, float] = {}  # each client's one unit of weight, split over its votes
    for tickers in by_client.values():
        chosen = sorted(tickers, key=popularity)[: rule.client_votes]
        for ticker in chosen:
            votes[ticker] = votes.get(ticker, 0) + 1
            weight[ticker] = weight.get(ticker, 0.0) + 1.0 / len(chosen)
    ranked += sorted(votes, key=lambda t: (-votes[t], -weight[t], t not in held, t))
    return ranked


@dataclass
class Registrations:
    """What is registered upstream since when, and the change tokens left (one session)."""

    rule: FairnessRule
    since: dict[str, float] = field(default_factory=dict)  # ticker -> registered at (monotonic)
    tokens: float = -1.0
    refilled_at: float | None = None

    def _refill(self, now: float) -> None:
        if self.refilled_at is None or self.tokens < 0:
            self.tokens, self.refilled_at = float(self.rule.burst), now
            return
        gained = (now - self.refilled_at) * self.rule.changes_per_minute / 60.0
        self.tokens = min(float(self.rule.burst), self.tokens + gained)
        self.refilled_at = now

    def plan(self, ranked: list[str], now: float) -> tuple[list[str], list[str]]:
        """(to release, to register) towards the first `limit` of `ranked`, within the
        hold time and the change budget. Releases come first in the caller's order, so the
        upstream's limit is never exceeded."""
        self._refill(now)
        limit = max(0, self.rule.limit)
        target = ranked[:limit]
        position = {t: i for i, t in enumerate(ranked)}
        missing = [t for t in target if t not in self.since]
        held = len(self.since)

        def releasable(ticker: str) -> bool:
            return now - self.since[ticker] >= self.rule.min_hold_seconds

        # Registered but out of the target: nobody wants them first, then the lowest ranked.
        spare = sorted(
            (t for t in self.since if t not in target and releasable(t)),
            key=lambda t: (t in position, -position.get(t, 0), t),
        )
        release: list[str] = []
        register: list[str] = []
        for ticker in missing:
            if held - len(release) + len(register) < limit:
                if self.tokens < 1:
                    break
                register.append(ticker)
                self.tokens -= 1
            elif spare and self.tokens >= 2:
                release.append(spare.pop(0))
                register.append(ticker)
                self.tokens -= 2
            else:
                break
        # Nobody wants these any more: free them too, as the budget allows.
        for ticker in [t for t in spare if t not in position]:
            if self.tokens < 1:
                break
            release.append(ticker)
            self.tokens -= 1
        for ticker in release:
            del self.since[ticker]
        for ticker in register:
            self.since[ticker] = now
        return release, register
