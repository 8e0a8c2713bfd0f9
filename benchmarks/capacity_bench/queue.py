"""The request queue as a queue with `servers` consumers (MaxConcurrentStarts) that each start one
export in `service` seconds: below its capacity, an M/M/c queue (Erlang C) gives the mean wait; above
it, the backlog grows by the difference every second, and after `hours` of steady arrivals the
last request waits for the whole backlog ahead of it."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class QueueState:
    depth: float  # requests waiting (mean below capacity; after `hours` above it)
    start_latency: float  # seconds from the request to its start (mean; the last one's above capacity)
    overloaded: bool


def erlang_c(servers: int, load: float) -> float:
    """The chance an arrival waits, `load` = arrival rate x service time (in servers), load < servers."""
    term, total = 1.0, 1.0
    for k in range(1, servers):
        term *= load / k
        total += term
    top = term * load / servers * servers / (servers - load)
    return top / (total + top)


def start_queue(rate: float, servers: int, service: float, hours: float = 1.0) -> QueueState:
    capacity = servers / service
    if rate >= capacity:
        backlog = (rate - capacity) * hours * 3600
        return QueueState(backlog, backlog / capacity + service, True)
    if rate <= 0:
        return QueueState(0.0, service, False)
    load = rate * service
    wait = erlang_c(servers, load) * service / (servers - load)
    return QueueState(rate * wait, wait + service, False)


def servers_for(rate: float, service: float, latency: float) -> int:
    """The fewest consumers (at least 2, the event source's minimum) that keep the mean start
    latency within `latency` seconds."""
    servers = max(2, math.ceil(rate * service))
    while start_queue(rate, servers, service).start_latency > latency:
        servers += 1
    return servers
