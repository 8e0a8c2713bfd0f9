"""Thread-safe registry of injected faults."""

from __future__ import annotations

import dataclasses
import threading
import time

from .config import DOWNLOAD_ONLY_KINDS, WEBHOOK_FAULT_KINDS, Fault


def _matches(fault: Fault, route: str, project_id: str | None) -> bool:
    """Whether ``fault`` applies to a request on ``route`` about ``project_id`` (or, on the
    ``webhook`` route, to a webhook about to be sent for that project)."""
    if fault.route not in ("any", route) or (fault.kind in WEBHOOK_FAULT_KINDS) != (route == "webhook"):
        return False
    if fault.kind in DOWNLOAD_ONLY_KINDS and route != "download":
        return False
    return fault.project_id is None or fault.project_id == project_id


class FaultBook:
    """Holds faults in injection order and hands them out, consuming their ``times``.

    A fault with ``for_seconds`` is dropped once that many seconds have passed since ``add``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._deadlines: dict[int, float] = {}  # id(fault) -> monotonic expiry, for ``for_seconds``

    def add(self, fault: Fault) -> None:
        """Register a copy of ``fault`` (its ``for_seconds`` window starts now)."""
        copy = dataclasses.replace(fault)
        with self._lock:
            self._faults.append(copy)
            if copy.for_seconds is not None:
                self._deadlines[id(copy)] = time.monotonic() + copy.for_seconds

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()
            self._deadlines.clear()

    def pending(self) -> list[Fault]:
        """Copies of the pending faults."""
        with self._lock:
            self._prune()
            return [dataclasses.replace(f) for f in self._faults]

    def take_request_fault(self, route: str, project_id: str | None) -> Fault | None:
        """The first request fault matching this request, with one use consumed."""
        with self._lock:
            self._prune()
            for fault in self._faults:
                if not fault.is_state_fault and _matches(fault, route, project_id):
                    return self._consume(fault)
        return None

    def consume(self, fault: Fault) -> None:
        """Use up one ``times`` of a registered fault (identified by identity)."""
        with self._lock:
            for registered in self._faults:
                if registered is fault:
                    self._consume(registered)
                    return

    def state_faults(self, project_id: str) -> list[Fault]:
        """The registered state fault objects themselves that apply to ``project_id``.

        Pass a returned object to ``consume`` once it has been bound to a render.
        """
        with self._lock:
            self._prune()
            return [f for f in self._faults if f.is_state_fault and f.project_id in (None, project_id)]

    def _consume(self, fault: Fault) -> Fault:
        """Decrement ``times`` (lock held) and drop the fault once exhausted; return a copy as it was."""
        taken = dataclasses.replace(fault)
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self._remove(fault)
        return taken

    def _remove(self, fault: Fault) -> None:
        self._faults.remove(fault)
        self._deadlines.pop(id(fault), None)

    def _prune(self) -> None:
        """Drop faults whose ``for_seconds`` window has passed (lock held)."""
        if not self._deadlines:
            return
        now = time.monotonic()
        for fault in [f for f in self._faults if self._deadlines.get(id(f), now + 1) <= now]:
            self._remove(fault)
