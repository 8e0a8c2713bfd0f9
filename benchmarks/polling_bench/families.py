"""Render families the planner does not model: each a seeded generator of progress curves.

A curve is a list of knots (seconds since the request, progress), read by straight lines between
them; it reaches 100 only at its last knot, the finish. Readings add noise (`Curve.noise` points,
sd), are clamped to 0..99.9 before the finish, and may go down wherever the curve does. The
families follow the shapes renderers report: smooth curves of several kinds, steps (a handful of
jumps, flat between, at irregular times), long plateaus then bursts, a queue before any
progress, stalls, re-renders, noisy readings, and very short and very long renders.
"""

from __future__ import annotations

import bisect
import math
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass

Knots = list[tuple[float, float]]


@dataclass(frozen=True)
class Curve:
    """One simulated render: progress along `knots`, read with noise."""

    knots: tuple[tuple[float, float], ...]
    noise: float
    seed: int

    @property
    def finish(self) -> float:
        return self.knots[-1][0]

    def clean(self, t: float) -> float:
        i = bisect.bisect_right(self.knots, (t, math.inf))
        if i == 0:
            return self.knots[0][1]
        if i == len(self.knots):
            return self.knots[-1][1]
        (t0, p0), (t1, p1) = self.knots[i - 1], self.knots[i]
        return p0 + (p1 - p0) * (t - t0) / (t1 - t0) if t1 > t0 else p1

    def progress(self, t: float) -> float:
        if t >= self.finish:
            return 100.0
        jitter = random.Random(hash((self.seed, round(t, 3)))).gauss(0.0, self.noise)  # noqa: S311
        return round(min(99.9, max(0.0, self.clean(t) + jitter)), 2)

    def reached(self, level: float) -> float:
        """When the curve first reaches `level` (the finish for 100)."""
        if level >= 100:
            return self.finish
        for (t0, p0), (t1, p1) in zip(self.knots, self.knots[1:], strict=False):
            if p1 >= level > p0:
                return t0 + (t1 - t0) * (level - p0) / (p1 - p0)
            if p0 >= level:
                return t0
        return self.finish


def _smooth(shape: Callable[[float], float], start: float, length: float, top: float = 100.0) -> Knots:
    """`shape` (0..1 onto 0..1, increasing) over `length` seconds from `start`, every 2 s."""
    steps = max(2, int(length / 2))
    return [(start + length * i / steps, top * shape(i / steps)) for i in range(steps + 1)]


def _queue(rng: random.Random) -> float:
    return rng.uniform(0, 10)


def _sigmoid(rng: random.Random) -> Callable[[float], float]:
    a, c = rng.uniform(4, 12), rng.uniform(0.3, 0.7)

    def s(u: float) -> float:
        return 1 / (1 + math.exp(-a * (u - c)))

    return lambda u: (s(u) - s(0)) / (s(1) - s(0))


def _saturating(rng: random.Random) -> Callable[[float], float]:
    k = rng.uniform(1.5, 5)
    return lambda u: (1 - math.exp(-k * u)) / (1 - math.exp(-k))


def _accelerating(rng: random.Random) -> Callable[[float], float]:
    k = rng.uniform(1.5, 5)
    return lambda u: (math.exp(k * u) - 1) / (math.exp(k) - 1)


def _any_shape(rng: random.Random) -> Callable[[float], float]:
    kind = rng.randrange(4)
    if kind == 3:
        k = rng.uniform(0.5, 2.0)
        return lambda u: u**k
    return (_sigmoid, _saturating, _accelerating)[kind](rng)


def _shares(rng: random.Random, n: int, spread: float) -> list[float]:
    """n positive shares summing to 1, each within (1 +- spread) of the mean before normalising."""
    raw = [rng.uniform(1 - spread, 1 + spread) for _ in range(n)]
    return [r / sum(raw) for r in raw]


def smooth(shape: Callable[[random.Random], Callable[[float], float]]) -> Callable[[random.Random], Knots]:
    def make(rng: random.Random) -> Knots:
        q = _queue(rng)
        return [(0.0, 0.0), *_smooth(shape(rng), q, rng.uniform(60, 720))]

    return make


def phases(rng: random.Random) -> Knots:
    """2-5 stretches at speeds up to 4x apart."""
    n, total = rng.randint(2, 5), rng.uniform(60, 720)
    t, p, knots = _queue(rng), 0.0, [(0.0, 0.0)]
    knots.append((t, 0.0))
    for dt, dp in zip(_shares(rng, n, 0.8), _shares(rng, n, 0.8), strict=True):
        t, p = t + dt * total, p + 100 * dp
        knots.append((t, min(p, 100.0)))
    knots[-1] = (knots[-1][0], 100.0)
    return knots


def steps(rng: random.Random) -> Knots:
    """A handful of jumps (3-8, each over 1-3 s) at irregular times, flat between them."""
    n, total = rng.randint(3, 8), rng.uniform(60, 720)
    t, p, knots = _queue(rng), 0.0, [(0.0, 0.0)]
    for gap, jump in zip(_shares(rng, n, 0.7), _shares(rng, n, 0.6), strict=True):
        t += gap * total
        knots.append((t, p))
        t, p = t + rng.uniform(1, 3), p + 100 * jump
        knots.append((t, min(p, 100.0)))
    knots[-1] = (knots[-1][0], 100.0)
    return knots


def plateau_burst(rng: random.Random) -> Knots:
    """Some progress, a long plateau (30-70% of the render), then the rest at 2-6 times the pace."""
    total, level = rng.uniform(60, 720), rng.uniform(5, 70)
    start = _queue(rng)
    rise = total * rng.uniform(0.1, 0.3)
    flat = total * rng.uniform(0.3, 0.7)
    burst = max(5.0, rise * (100 - level) / level / rng.uniform(2, 6))
    return [(0.0, 0.0), (start, 0.0), (start + rise, level), (start + rise + flat, level),
            (start + rise + flat + burst, 100.0)]  # fmt: skip


def queued(rng: random.Random) -> Knots:
    """Nothing moves for 30 s to 5 minutes, then a smooth render."""
    q = rng.uniform(30, 300)
    return [(0.0, 0.0), *_smooth(_any_shape(rng), q, rng.uniform(60, 600))]


def stalls(rng: random.Random) -> Knots:
    """A smooth render that stops 1-3 times for 20 s to 3 minutes, anywhere up to 99%."""
    knots = [(0.0, 0.0), *_smooth(_any_shape(rng), _queue(rng), rng.uniform(60, 720))]
    for _ in range(rng.randint(1, 3)):
        at = rng.uniform(5, 99)
        i = next(k for k, (_, p) in enumerate(knots) if p >= at)
        pause = rng.uniform(20, 180)
        knots = [*knots[:i], (knots[i][0], knots[i][1])] + [(t + pause, p) for t, p in knots[i:]]
    return knots


def rerenders(rng: random.Random) -> Knots:
    """Progress drops once or twice (to 0-60% of where it was) and the render goes on from there
    at its pace: the work done since the drop is done again."""
    shape, length = _any_shape(rng), rng.uniform(60, 600)
    t, u, knots = _queue(rng), 0.0, [(0.0, 0.0)]
    for _ in range(rng.randint(1, 2)):
        top = rng.uniform(max(u, 0.2), 0.95)
        while u < top:
            t, u = t + 2, min(top, u + 2 / length)
            knots.append((t, 100 * shape(u)))
        u = top * rng.uniform(0, 0.6)
        t += 1
        knots.append((t, 100 * shape(u)))
    while u < 1:
        t, u = t + 2, min(1.0, u + 2 / length)
        knots.append((t, 100 * shape(u)))
    knots[-1] = (t, 100.0)
    return knots


def sized(low: float, high: float) -> Callable[[random.Random], Knots]:
    def make(rng: random.Random) -> Knots:
        return [(0.0, 0.0), *_smooth(_any_shape(rng), _queue(rng), rng.uniform(low, high))]

    return make


FAMILIES: dict[str, tuple[Callable[[random.Random], Knots], tuple[float, float]]] = {
    # name: (generator, reading noise sd range in points)
    "smooth: S-curve": (smooth(_sigmoid), (0.0, 0.5)),
    "smooth: fast start": (smooth(_saturating), (0.0, 0.5)),
    "smooth: slow start": (smooth(_accelerating), (0.0, 0.5)),
    "smooth: phases": (phases, (0.0, 0.5)),
    "steps": (steps, (0.0, 0.2)),
    "plateau then burst": (plateau_burst, (0.0, 0.3)),
    "queue first": (queued, (0.0, 0.5)),
    "stalls": (stalls, (0.0, 0.5)),
    "re-renders": (rerenders, (0.0, 0.5)),
    "noisy readings": (sized(60, 720), (1.0, 3.0)),
    "short (30-120 s)": (sized(30, 120), (0.0, 0.5)),
    "long (10-20 min)": (sized(600, 1200), (0.0, 0.5)),
}


def make_family(name: str, count: int, seed: int) -> list[Curve]:
    make, (lo, hi) = FAMILIES[name]
    rng = random.Random(f"{seed}:{name}")  # noqa: S311 - a reproducible simulation
    curves = []
    for i in range(count):
        knots = make(rng)
        curves.append(
            Curve(tuple(knots), rng.uniform(lo, hi), seed * 1_000_003 + zlib.crc32(name.encode()) + i)
        )
    return curves
