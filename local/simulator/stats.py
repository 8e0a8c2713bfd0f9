"""Request and delivery counters of the simulator."""

from __future__ import annotations

import copy
import threading
from collections import Counter
from typing import Any


class Stats:
    """Thread-safe counters; ``snapshot()`` returns plain dicts and ints."""

    _INT_FIELDS = (
        "tokens_issued",
        "downloads",
        "download_heads",
        "download_bytes",
        "webhooks_sent",
        "webhooks_failed",
        "webhooks_dropped",
        "faults_triggered",
    )
    _MAP_FIELDS = ("exports", "polls", "project_gets", "requests")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ints: Counter[str] = Counter()
        self._maps: dict[str, Counter[str]] = {}
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._ints = Counter(dict.fromkeys(self._INT_FIELDS, 0))
            self._maps = {name: Counter() for name in self._MAP_FIELDS}

    def incr(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to an integer counter."""
        if name not in self._INT_FIELDS:
            raise KeyError(name)
        with self._lock:
            self._ints[name] += amount

    def incr_key(self, name: str, key: str, amount: int = 1) -> None:
        """Add ``amount`` to ``key`` of a per-key counter (``exports``, ``polls``, ...)."""
        with self._lock:
            self._maps[name][key] += amount

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of all counters."""
        with self._lock:
            result: dict[str, Any] = dict(self._ints)
            for name, counter in self._maps.items():
                result[name] = dict(copy.copy(counter))
            return result
