"""Simulated AI Studios renders: progress as a function of virtual time, noisy, stalling, going back.

A render does 1-12 minutes of work after a 0-10 s queue; a third each linear, slow-start and
fast-start. Its speed wobbles, each reading jitters, some stall once and some go backwards once
(see the module docstring of benchmarks/polling.py). Everything is seeded: runs are reproducible.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

NOISE_MAX = 0.5  # reading jitter: sd 0..this many points
WOBBLE_MAX = 0.2  # rate jitter: speed 1 +/- up to 20%, changing every 10-40 s


def rng_for(seed: int) -> random.Random:
    """A seeded generator: the benchmark is a reproducible simulation, not cryptography."""
    return random.Random(seed)  # noqa: S311


@dataclass(frozen=True)
class Render:
    """One simulated render: progress as a function of virtual time."""

    work: float  # seconds of rendering without stalls or re-renders
    queue: float  # seconds before progress starts moving
    exponent: float  # progress = 100 * done_fraction ** exponent
    noise: float  # sd of the reported progress, points
    wobble: float  # the render's speed varies by up to this fraction, chunk by chunk
    stall_at: float | None  # work fraction at which it stalls
    stall_for: float
    back_at: float | None  # work fraction at which it goes backwards
    back_to: float  # ... to this fraction of the work done so far
    seed: int

    @functools.cached_property
    def finish(self) -> float:
        """When the work is done: the first t with fraction(t) == 1 (found by bisection)."""
        low, high = 0.0, 4 * (self.queue + self.work + self.stall_for) + 60
        while high - low > 1e-3:
            mid = (low + high) / 2
            low, high = (mid, high) if self.fraction(mid) < 1 else (low, mid)
        return high

    @functools.cached_property
    def pace(self) -> list[tuple[float, float, float]]:
        """Rate jitter: (start, work-seconds done by then, speed) for chunks of 10-40 s."""
        rng = rng_for(self.seed)
        chunks, t, done = [], 0.0, 0.0
        while done < 4 * self.work + 600:
            speed = rng.uniform(1 - self.wobble, 1 + self.wobble)
            chunks.append((t, done, speed))
            length = rng.uniform(10, 40)
            t, done = t + length, done + length * speed
        return chunks

    def worked(self, active: float) -> float:
        """Work-seconds done after `active` seconds of rendering."""
        start, done, speed = next(c for c in reversed(self.pace) if c[0] <= active)
        return done + (active - start) * speed

    def fraction(self, t: float) -> float:
        """Work done at virtual time t, in 0..1 (before noise)."""
        w = self.worked(max(0.0, t - self.queue))
        events: list[tuple[float, str]] = []
        if self.stall_at is not None:
            events.append((self.stall_at, "stall"))
        if self.back_at is not None:
            events.append((self.back_at, "back"))
        done = 0.0
        for at, kind in sorted(events):
            need = (at - done) * self.work
            if w <= need:
                break
            w -= need
            done = at
            if kind == "stall":
                w = max(0.0, w - self.stall_for)
            else:
                done = at * self.back_to
        return min(1.0, done + w / self.work)

    def clean(self, t: float) -> float:
        """Progress at t before reading noise (100 only once done)."""
        return 100.0 if t >= self.finish else 100.0 * self.fraction(t) ** self.exponent

    def reached(self, level: float) -> float:
        """When progress first reaches `level` (to the second; the finish for 100)."""
        return next((float(t) for t in range(int(self.finish) + 1) if self.clean(t) >= level), self.finish)

    def progress(self, t: float) -> float:
        if t >= self.finish:
            return 100.0
        clean: float = 100.0 * self.fraction(t) ** self.exponent
        jitter = rng_for(hash((self.seed, round(t, 3)))).gauss(0.0, self.noise)
        return round(min(99.9, max(0.0, clean + jitter)), 2)


def make_renders(
    count: int, seed: int, jitter: float = NOISE_MAX, wobble: float = WOBBLE_MAX
) -> list[Render]:
    rng = rng_for(seed)
    renders = []
    for i in range(count):
        shape = i % 3
        exponent = 1.0 if shape == 0 else rng.uniform(1.4, 2.2) if shape == 1 else rng.uniform(0.5, 0.75)
        stall = rng.random() < 0.25
        back = rng.random() < 0.10
        renders.append(
            Render(
                work=rng.uniform(60, 720),
                queue=rng.uniform(0, 10),
                exponent=exponent,
                noise=rng.uniform(0, jitter),
                wobble=rng.uniform(0, wobble),
                stall_at=rng.uniform(0.1, 0.95) if stall else None,
                stall_for=rng.uniform(20, 120),
                back_at=rng.uniform(0.3, 0.9) if back else None,
                back_to=rng.uniform(0.0, 0.7),
                seed=seed * 100_003 + i,
            )
        )
    return renders
