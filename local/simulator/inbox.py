"""A stand-in for a caller's own webhook endpoint, served on the simulator's origin (the one
plain-http origin the local stack's functions may call): ``POST /_sim/inbox/<name>`` records the
request (headers and raw body) and answers 200, or the status asked with ``?status=<code>`` (to play
a failing endpoint); ``GET /_sim/inbox/<name>`` lists what arrived, oldest first."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any


class Inbox:
    """Thread-safe named lists of received requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._boxes: dict[str, list[dict[str, Any]]] = {}

    def receive(self, name: str, headers: Mapping[str, str], body: bytes, status: int) -> None:
        entry = {
            "headers": dict(headers),
            "body": body.decode("utf-8", "replace"),
            "answered": status,
            "receivedAt": time.time(),
        }
        with self._lock:
            self._boxes.setdefault(name, []).append(entry)

    def read(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._boxes.get(name, [])]

    def clear(self) -> None:
        with self._lock:
            self._boxes.clear()
