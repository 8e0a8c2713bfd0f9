"""Render (export) state of one project and its progress curve.

Progress is a pure function of elapsed time: the export waits in a queue for the first
``QUEUE_FRACTION`` of the render time at 0, then follows a smoothstep ease through a per-render
monotonic time warp (small, seeded jitter), and reaches exactly 100 at ``render_seconds``.
Reported values are additionally clamped to never decrease between polls.

A render created under a ``stale_progress`` fault points at the previous render of its project
(``stale_of``) until ``stale_until``: the API reports that previous render meanwhile (``reported``).

``RenderedVideo`` is a render's video as the CDN serves it (what ``Simulator.render_video`` returns).
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, field

from .config import Fault
from .video import VideoSource

QUEUE_FRACTION = 0.1
ENCODING_FROM = 90.0
WARP_SEGMENTS = 8
DEFAULT_FAULT_PROGRESS = 40.0


def make_warp(rng: random.Random, segments: int = WARP_SEGMENTS) -> tuple[float, ...]:
    """Cumulative breakpoints ``0 = b0 < b1 < ... < bn = 1`` of a jittered piecewise-linear warp."""
    weights = [rng.uniform(0.75, 1.25) for _ in range(segments)]
    total = sum(weights)
    points = [0.0]
    for weight in weights:
        points.append(points[-1] + weight / total)
    points[-1] = 1.0
    return tuple(points)


def apply_warp(u: float, warp: tuple[float, ...]) -> float:
    """Map ``u`` in [0, 1] through the warp (monotonic, fixes 0 and 1)."""
    segments = len(warp) - 1
    scaled = min(max(u, 0.0), 1.0) * segments
    index = min(int(scaled), segments - 1)
    frac = scaled - index
    return warp[index] + (warp[index + 1] - warp[index]) * frac


def curve_progress(elapsed: float, render_seconds: float, warp: tuple[float, ...]) -> float:
    """Progress 0..100 (two decimals, exactly 100 only once ``elapsed >= render_seconds``)."""
    if elapsed >= render_seconds:
        return 100.0
    queued = render_seconds * QUEUE_FRACTION
    if elapsed <= queued:
        return 0.0
    u = apply_warp((elapsed - queued) / (render_seconds - queued), warp)
    eased = u * u * (3.0 - 2.0 * u)
    return min(math.floor(eased * 10000.0) / 100.0, 99.99)


def curve_state(elapsed: float, render_seconds: float, progress: float) -> str:
    """State name for a healthy render."""
    if progress >= 100.0:
        return "completed"
    if elapsed <= render_seconds * QUEUE_FRACTION:
        return "queued"
    if progress >= ENCODING_FROM:
        return "encoding"
    return "rendering"


@dataclass
class Snapshot:
    """Progress and state of a render at one instant."""

    progress: float
    state: str

    @property
    def completed(self) -> bool:
        return self.state == "completed"

    @property
    def terminal(self) -> bool:
        return self.state in ("completed", "failed")


@dataclass
class Render:
    """One export of a project, from the export request until it completes or fails."""

    project_id: str
    resolution: str
    workspace_id: str | None
    webhook_url: str | None
    render_seconds: float
    started_at: float
    started_wall: float
    backend_task_id: str
    export_token: str
    warp: tuple[float, ...]
    video: VideoSource
    fail_at: float | None = None
    stall_at: float | None = None
    milestones_sent: set[int] = field(default_factory=set)
    stale_of: Render | None = field(default=None, repr=False)
    stale_until: float = 0.0
    _last_progress: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def bind_fault(self, fault: Fault, now: float) -> bool:
        """Attach an ``export_fail``/``export_stall`` fault; False if it cannot apply any more."""
        current = self.snapshot(now)
        if current.terminal:
            return False
        at = fault.at_progress if fault.at_progress is not None else DEFAULT_FAULT_PROGRESS
        at = max(at, current.progress)
        if fault.kind == "export_fail" and self.fail_at is None:
            self.fail_at = at
            return True
        if fault.kind == "export_stall" and self.stall_at is None:
            self.stall_at = at
            return True
        return False

    def reported(self, now: float) -> Render:
        """The render the API reports at ``now``: the previous one during a ``stale_progress`` window."""
        previous = self.stale_of
        if previous is None:
            return self
        if now < self.stale_until:
            return previous
        self.stale_of = None  # the window is over for good
        return self

    @property
    def completed_wall(self) -> float:
        """Wall-clock time at which a healthy render reaches 100."""
        return self.started_wall + self.render_seconds

    def snapshot(self, now: float) -> Snapshot:
        """Progress/state at monotonic time ``now``, never lower than anything reported before."""
        elapsed = max(0.0, now - self.started_at)
        raw = curve_progress(elapsed, self.render_seconds, self.warp)
        state = curve_state(elapsed, self.render_seconds, raw)
        if self.fail_at is not None and raw >= self.fail_at:
            raw, state = self.fail_at, "failed"
        elif self.stall_at is not None and raw >= self.stall_at:
            raw, state = self.stall_at, "rendering"
        with self._lock:
            progress = max(raw, self._last_progress)
            self._last_progress = progress
        return Snapshot(progress=progress, state=state)


@dataclass(frozen=True)
class RenderedVideo:
    """The video of one render, exactly as the CDN serves it from that render's download URL."""

    project_id: str
    backend_task_id: str
    export_token: str
    source: VideoSource = field(repr=False)

    @property
    def size(self) -> int:
        """Size in bytes."""
        return self.source.size

    @property
    def etag(self) -> str:
        """The ``ETag`` the CDN sends for it."""
        return self.source.etag

    def sha256(self) -> str:
        """Hex SHA-256 of the whole video (streamed for synthetic bodies)."""
        return self.source.sha256()

    def read(self, offset: int = 0, length: int | None = None) -> bytes:
        """Bytes ``[offset, offset+length)`` of the video (``length=None``: to the end)."""
        return self.source.read(offset, length)
