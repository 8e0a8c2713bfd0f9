"""Background delivery of export webhooks (unsigned JSON POSTs, like AI Studios)."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

import requests

from .stats import Stats

log = logging.getLogger(__name__)


class WebhookDispatcher:
    """Posts webhook payloads in order from one daemon thread; failures are counted and ignored."""

    def __init__(self, stats: Stats, timeout: float) -> None:
        self._stats = stats
        self._timeout = timeout
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._session = requests.Session()
        self._session.trust_env = False
        self._sent: list[dict[str, Any]] = []  # every attempt: url, payload, HTTP status (0: no answer)
        self._sent_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="sim-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the deliveries already queued (bounded by ``timeout``)."""
        self._queue.put(None)
        self._thread.join(timeout)
        self._session.close()

    def submit(self, url: str, payload: dict[str, Any]) -> None:
        """Queue one delivery."""
        self._queue.put((url, payload))

    def sent(self) -> list[dict[str, Any]]:
        """The deliveries made so far, oldest first: ``url``, ``payload`` and the ``status`` answered."""
        with self._sent_lock:
            return [dict(entry) for entry in self._sent]

    def _record(self, url: str, payload: dict[str, Any], status: int) -> None:
        with self._sent_lock:
            self._sent.append({"url": url, "payload": dict(payload), "status": status})

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._deliver(*item)

    def _deliver(self, url: str, payload: dict[str, Any]) -> None:
        try:
            response = self._session.post(url, json=payload, timeout=self._timeout)
        except requests.RequestException as exc:
            log.debug("webhook delivery failed: %s", type(exc).__name__)
            self._stats.incr("webhooks_failed")
            self._record(url, payload, 0)
            return
        self._record(url, payload, response.status_code)
        if 200 <= response.status_code < 300:
            self._stats.incr("webhooks_sent")
        else:
            self._stats.incr("webhooks_failed")
