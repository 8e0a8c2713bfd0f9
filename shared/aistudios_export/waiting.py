"""How long the state machine waits before its next progress poll.

`next_wait` plans each wait from the progress samples seen so far; `keep_samples` keeps those
samples small enough to travel in the execution's state. Both are pure: no clock, no I/O.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

Sample = tuple[float, float]
"""(seconds since the export was requested, progress 0..100)."""

# Defaults chosen by `make bench-polling` (see benchmarks/polling.py for the numbers).
DEFAULT_MIN_WAIT = 10
DEFAULT_MAX_WAIT = 120
SAMPLE_LIMIT = 6
"""Samples kept in the execution state: the estimate only looks at the last few."""

REGRESSION_POINTS = 5.0
"""A drop of more than this many points is a re-render, not noise: older samples are ignored."""
NOISE_POINTS = 1.0
"""Progress jitter a single step is discounted by before it is trusted to show a faster render."""
LANDING_SECONDS = 1.0
"""Aim this long after the estimated finish: a poll just too early costs a whole `min_wait`."""
LANDING_SLACK = 0.03
"""...plus this fraction of the remaining time, since estimates err in proportion to the distance."""
APPROACH = 1.5
"""A finish further than `APPROACH * min_wait` away is first approached by a closer poll."""
UNCERTAINTY = 0.3
"""Relative error assumed for a far estimate (plus noise over the progress seen): long waits aim
early by that much, so a render that speeds up is not overshot."""
GROWTH = 2.0
"""No wait longer than `GROWTH` times the time elapsed: early samples say little about the end."""
RECENCY_SECONDS = 150.0
"""Weight of a sample in the rate fit decays by e every this many seconds of age."""
PAIRS = 3
"""How many latest steps may override the fit with a faster rate."""
STEP_POINTS = 3.0
"""Steps smaller than this are too noisy to measure a change of pace from."""
CURVE = 1.5
"""How much of the measured change of pace is carried forward (over 1: the end accelerates most)."""


def keep_samples(samples: Sequence[Sample], limit: int = SAMPLE_LIMIT) -> list[Sample]:
    """The samples worth keeping: at most `limit`, rounded (0.1 s, 0.01 point) for a small state.

    A stall collapses to its first and latest samples (progress within `NOISE_POINTS`), so the
    samples from before it, which show how fast the render goes, stay in the window. Whatever the
    render's length, the execution state holds at most `limit` pairs (under 200 bytes for 6).
    """
    if limit < 2:
        raise ValueError("limit must be at least 2")
    kept: list[Sample] = []
    for t, p in samples:
        sample = (round(float(t), 1), round(float(p), 2))
        if len(kept) >= 2 and all(abs(q - sample[1]) <= NOISE_POINTS for _, q in kept[-2:]):
            kept[-1] = sample
        else:
            kept.append(sample)
    return kept[-limit:]


def estimate_remaining(samples: Sequence[Sample]) -> tuple[float, float]:
    """(seconds from the last sample until progress reaches 100, relative uncertainty).

    Remaining is `math.inf` when progress is not moving. Samples before a drop of more than
    `REGRESSION_POINTS` belong to an abandoned render; a re-render is assumed to go at the old
    render's rate until it shows its own. The level and rate come from a least-squares line through
    the current render's samples weighted towards recent ones, which averages out noise; the rate
    is raised to that of any of the last `PAIRS` steps (less `NOISE_POINTS` of jitter) that was
    faster, so that a stall (collapsed by `keep_samples`) is read as "may resume at full speed".
    When the last two steps are large enough to measure, the change of pace between them is
    carried forward (`_curved`): slow-start renders accelerate towards the end.

    Every choice errs towards finishing sooner: a poll too early costs one poll, a poll too late
    costs latency that no later poll can win back.
    """
    if not samples:
        return math.inf, 1.0
    start = 0
    for i in range(1, len(samples)):
        if samples[i][1] < samples[i - 1][1] - REGRESSION_POINTS:
            start = i
    current = list(samples[start:])
    p_last = current[-1][1]
    if p_last >= 100:
        return 0.0, 0.0
    if len(current) == 1:
        level = p_last
        if start > 1:
            rate = _fit(samples[:start])[1]
        else:  # measured from the request (0 s, 0 %)
            t_ref, p_ref = samples[0]
            rate = p_ref / t_ref if t_ref > 0 else 0.0
        spanned = p_last if start == 0 else 0.0
    else:
        level, rate = _fit(current)
        for (t0, p0), (t1, p1) in itertools.pairwise(current[-PAIRS - 1 :]):
            if t1 > t0:
                rate = max(rate, (p1 - p0 - NOISE_POINTS) / (t1 - t0))
        spanned = level - current[0][1]
        if start == 0 and len(current) == 2:
            current.insert(0, (0.0, 0.0))
        if len(current) >= 3:
            curved = _curved(current[-3:], 100.0 - min(level, 99.9))
            if curved is not None:
                return curved, UNCERTAINTY + NOISE_POINTS / max(spanned, NOISE_POINTS)
    if rate <= 1e-6:
        return math.inf, 1.0
    uncertainty = UNCERTAINTY + NOISE_POINTS / max(spanned, NOISE_POINTS)
    return (100.0 - min(level, 99.9)) / rate, uncertainty


def _curved(points: Sequence[Sample], left: float) -> float | None:
    """Time to gain `left` points if the slope keeps changing as it did over the last two steps."""
    (t0, p0), (t1, p1), (t2, p2) = points
    if min(p1 - p0, p2 - p1) < STEP_POINTS or t1 <= t0 or t2 <= t1:
        return None
    s1, s2 = (p1 - p0) / (t1 - t0), (p2 - p1) / (t2 - t1)
    a = (s2 - s1) / ((t2 - t0) / 2) * CURVE
    b = s2 + a * (t2 - t1) / 2
    if abs(a) < 1e-9:
        return left / b
    disc = b * b + 2 * a * left
    if a < 0 and disc <= 0:
        return None
    return (-b + math.sqrt(disc)) / a


def _fit(points: Sequence[Sample]) -> tuple[float, float]:
    """Weighted least-squares line through `points`: (its value at the last point, its slope)."""
    t_last = points[-1][0]
    w = [math.exp(-(t_last - t) / RECENCY_SECONDS) for t, _ in points]
    sw = sum(w)
    mt = sum(wi * t for wi, (t, _) in zip(w, points, strict=True)) / sw
    mp = sum(wi * p for wi, (_, p) in zip(w, points, strict=True)) / sw
    stt = sum(wi * (t - mt) ** 2 for wi, (t, _) in zip(w, points, strict=True))
    if stt <= 0:
        return mp, 0.0
    slope = sum(wi * (t - mt) * (p - mp) for wi, (t, p) in zip(w, points, strict=True)) / stt
    return mp + slope * (t_last - mt), slope


def next_wait(samples: Sequence[Sample], *, min_wait: float, max_wait: float, seconds_left: float) -> int:
    """Seconds to wait before the next poll: just after the estimated finish, within bounds.

    `samples` are this export's polls so far, oldest first (`keep_samples` of them is enough);
    `estimate_remaining` turns them into the time left to 100 and how far to trust it. Then:

    - far from the finish: wait until `APPROACH * min_wait` before its earliest plausible moment
      (the estimate shrunk by its uncertainty), at most `max_wait` and `GROWTH` times the time
      elapsed. Long waits while the end is far; then one close poll that measures the last stretch;
    - near it: aim just after it (`LANDING_SECONDS` plus `LANDING_SLACK` of the remaining time),
      since a poll a few seconds late costs those seconds but one just too early costs `min_wait`;
    - no samples yet: `min_wait` (learn the rate early; the first Wait of an execution is the same);
      progress not moving at all: back off (`GROWTH` times the time elapsed, up to `max_wait`);
    - latest progress at 100 (a 100 not yet proven to be this export's): `min_wait`.

    Bounds: an int in [ceil(min_wait), floor(max_wait)] (min_wait wins if they cross), and never
    past the deadline: when fewer seconds than that are left, `max(1, floor(seconds_left))`, so the
    last poll lands on the deadline, and 1 once it has passed (the state machine's Choice ends the
    export at that poll). The result is always >= 1.
    """
    low = max(1, math.ceil(min_wait))
    high = max(low, math.floor(max_wait))
    if not samples or samples[-1][1] >= 100:
        planned = float(low)
    else:
        remaining, uncertainty = estimate_remaining(samples)
        approach = APPROACH * low
        soonest = remaining / (1 + uncertainty)
        if soonest - approach >= low:
            planned = min(soonest - approach, GROWTH * samples[-1][0])
        else:
            planned = remaining * (1 + LANDING_SLACK) + LANDING_SECONDS
    wait = min(high, max(low, math.ceil(planned))) if math.isfinite(planned) else high
    if seconds_left < wait:
        wait = max(1, math.floor(seconds_left)) if seconds_left >= 1 else 1
    return wait


def next_wait_seconds(progress: float, elapsed: float, minimum: float, maximum: float) -> int:
    """Wait about half the remaining render time estimated from the rate so far, within bounds.

    Kept for the poll step until it passes samples to `next_wait`.
    """
    if progress <= 0 or elapsed <= 0:
        estimate = maximum
    elif progress >= 100:
        estimate = minimum
    else:
        estimate = elapsed * (100 - progress) / progress / 2
    return max(1, math.ceil(min(maximum, max(minimum, estimate))))
