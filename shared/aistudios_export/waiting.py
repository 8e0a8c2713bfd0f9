"""How long the state machine waits before its next progress poll.

`next_wait` plans each wait from the progress samples seen so far; `keep_samples` keeps those
samples small enough to travel in the execution's state. Both are pure: no clock, no I/O.

The forecast (`forecast`) reads progress as `100 * f ** shape`, where `f`, the share of the work
done, grows at a pace that wanders a little while the render runs. For each shape (fast start,
linear, slow start) and each way the samples may have lost time (none; a stall or an unseen
re-render within one interval; a stall over some samples, perhaps still going on), a weighted
least-squares line through `f` gives the time left to 100 and how sure it is. How well each one
fits weighs them, so the forecast is a distribution of the time left, not one number. The wait
(`next_wait`) is the one that costs least against that distribution: the detection lag if the
render is done by then, `POLL_COST` and what carrying on costs if it is not.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

Sample = tuple[float, float]
"""(seconds since the export was requested, progress 0..100)."""

# Defaults chosen by `make bench-polling` (see benchmarks/polling.py for the numbers).
DEFAULT_MIN_WAIT = 10
DEFAULT_MAX_WAIT = 180

SAMPLE_LIMIT = 6
"""Samples kept in the execution state: the latest few, stalls collapsed."""

NOISE_POINTS = 1.0
"""Progress within this of the two samples before is a stall to `keep_samples`."""
REGRESSION_POINTS = 5.0
"""A drop of more than this many points is a re-render, which goes on from where it dropped."""
FLAT_POINTS = 3.0
"""Samples within this many points of each other may have been read during one stall."""
READ_NOISE = 0.5
"""Standard deviation of one progress reading, in points."""
READ_FLOOR = 0.002
"""Least uncertainty of a reading, as a share of the work."""
WOBBLE = 0.25
"""How much the pace wanders: the work done strays from a steady pace by a variance of this many
seconds squared per second (a speed varying by about 10% over half-minute stretches)."""
START_SD = 5.0
"""The render starts moving within about this many seconds of the request."""
SLOWEST_PACE = 1 / 2000
"""The smallest pace (share of the work per second) the weights assume."""
SHAPES = tuple(2 ** (k / 4) for k in range(-5, 6))
"""Exponents tried: 0.42 (fast start, slow end) to 2.38 (slow start, fast end)."""
LOST_TIME_ODDS = 0.1
"""Prior odds of a stall or an unseen re-render within an interval, or of a stall over samples."""
TEMPERATURE = 2.0
"""Misfits count this much less than a reading's noise alone says: paces wander in ways no line
follows, and a forecast too sure of one shape lands late."""
SPREAD_CAP = 1.0
"""Largest spread (log scale) of one alternative's forecast; a vaguer one says nothing more."""
ATOMS = 40
"""The forecast, summed up: this many equally likely times left."""
POLL_COST = 8.0
"""Seconds of detection lag one more poll is worth: the trade-off `make bench-polling` settled."""
REACH = 3.0
"""From within `REACH` times the shortest wait of the finish, one more poll lands on it..."""
LANDING_ERROR = 0.1
"""...late by about this share of the distance."""
GROWTH = 3.0
"""No wait longer than `GROWTH` times the time elapsed: early samples say little about the end."""
PACE_SHARE = 0.8
"""No wait longer than this share of the time left at the latest pace (`pace_bound`): a render
speeding up ends sooner than a fit through its slower past says, and early costs a poll, late lag."""


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


Point = tuple[int, float, float, float]  # (segment, seconds, share of the work, its sd)
Fit = tuple[float, float, float, dict[int, tuple[float, float, float]]]
FLAT = -1  # the segment of samples read during a stall


def _work(progress: float, shape: float) -> tuple[float, float]:
    """The share of the work a reading stands for under `shape`, and its standard deviation
    (half the span of a reading `READ_NOISE` either side, so a reading near 0 is vague too)."""
    q, noise = min(max(progress, 0.0), 99.99) / 100, READ_NOISE / 100
    f = q ** (1 / shape)
    span = min(1.0, q + noise) ** (1 / shape) - max(0.0, q - noise) ** (1 / shape)
    return f, math.hypot(span / 2, READ_FLOOR)


def _line(points: Sequence[Point], start: bool) -> Fit | None:
    """Weighted least squares: one pace for all segments, a level for each; with `start`, segment
    0 also begins near no work at the request. Older points weigh less (the pace wanders since).
    (misfit, pace, its variance, per segment: weight, mean time, mean work), or None."""
    if not points:
        return None
    pace, t_end = 0.0, max(t for _, t, _, _ in points)
    for _ in range(3):  # the weights depend on the pace
        drift = WOBBLE * max(pace, SLOWEST_PACE) ** 2
        rows = [(s, t, f, 1 / (sd**2 + drift * (t_end - t))) for s, t, f, sd in points]
        if start:
            rows.append((0, 0.0, 0.0, 1 / ((max(pace, SLOWEST_PACE) * START_SD) ** 2 + drift * t_end)))
        sums: dict[int, list[float]] = {}
        for s, t, f, w in rows:
            acc = sums.setdefault(s, [0.0, 0.0, 0.0])
            acc[0] += w
            acc[1] += w * t
            acc[2] += w * f
        means = {s: (sw, st / sw, sf / sw) for s, (sw, st, sf) in sums.items()}
        sxx = sum(w * (t - means[s][1]) ** 2 for s, t, _, w in rows)
        if sxx <= 0:
            return None
        pace = sum(w * (t - means[s][1]) * (f - means[s][2]) for s, t, f, w in rows) / sxx
    misfit = sum(w * (f - means[s][2] - pace * (t - means[s][1])) ** 2 for s, t, f, w in rows)
    return misfit, pace, 1 / sxx, means


def _hypotheses(samples: Sequence[Sample]) -> list[tuple[list[int], bool, float]]:
    """Ways the samples may have lost time: (the segment of each sample, whether the first one
    begins at the request, log prior odds). A drop beyond `REGRESSION_POINTS` always begins one."""
    n = len(samples)
    forced = [0]
    for (_, p0), (_, p1) in itertools.pairwise(samples):
        forced.append(forced[-1] + (p1 < p0 - REGRESSION_POINTS))
    odds = math.log(LOST_TIME_ODDS)
    found = [([2 * s for s in forced], True, 0.0)]
    for k in range(n):  # time lost between samples k-1 and k (k = 0: a long queue)
        if k == 0 or forced[k] == forced[k - 1]:
            found.append(([2 * s + (i >= k) for i, s in enumerate(forced)], k > 0, odds))
    for i in range(n):  # a stall over samples i..j-1 (j = n: still stalled)
        for j in range(i + 1, n + 1):
            run = [p for _, p in samples[i:j]]
            if max(run) - min(run) > FLAT_POINTS or forced[i] != forced[j - 1]:
                continue
            if j < n and forced[j] != forced[j - 1]:
                continue
            segments = [FLAT if i <= m < j else 2 * s + (m >= j) for m, s in enumerate(forced)]
            found.append((segments, i > 0, odds))
    return found


def forecast(samples: Sequence[Sample]) -> list[float]:
    """`ATOMS` equally likely seconds from the last sample until progress reads 100, ascending
    (`math.inf`: it may never move again). A stall still going on counts as resuming at once."""
    if not samples:
        return [math.inf] * ATOMS
    t_last = samples[-1][0]
    weighted: list[tuple[float, float, float]] = []  # (log weight, time left, its log spread)
    hypotheses = _hypotheses(samples)
    for shape in SHAPES:
        work = [_work(p, shape) for _, p in samples]
        for segments, start, prior in hypotheses:
            points = [(s, t, f, sd) for s, (t, _), (f, sd) in zip(segments, samples, work, strict=True)]
            fit = _line([pt for pt in points if pt[0] != FLAT], start)
            if fit is None:
                continue
            misfit, pace, var_pace, means = fit
            flat = [(f, 1 / sd**2) for s, _, f, sd in points if s == FLAT]
            if flat:
                sw = sum(w for _, w in flat)
                level = sum(f * w for f, w in flat) / sw
                misfit += sum(w * (f - level) ** 2 for f, w in flat)
            if segments[-1] == FLAT:
                now, var_now = level, 1 / sw
            elif segments[-1] in means:
                sw, mt, mf = means[segments[-1]]
                now, var_now = mf + pace * (t_last - mt), 1 / sw + (t_last - mt) ** 2 * var_pace
            else:
                continue
            log_weight = prior - misfit / 2 / TEMPERATURE
            if pace <= 1e-7:
                weighted.append((log_weight, math.inf, 0.0))
                continue
            left = max(0.05, (1 - now) / pace)
            spread = math.sqrt((var_now + left**2 * var_pace) / pace**2 + WOBBLE * left) / left
            weighted.append((log_weight, left, min(SPREAD_CAP, math.hypot(spread, 0.5 / left))))
    return _atoms(weighted)


def _atoms(weighted: Sequence[tuple[float, float, float]]) -> list[float]:
    """Quantiles of a mixture of log-normals, each taken as three points (mean, +-sqrt(3) sd)."""
    if not weighted:
        return [math.inf] * ATOMS
    top = max(lw for lw, _, _ in weighted)
    points: list[tuple[float, float]] = []
    for lw, left, spread in weighted:
        w = math.exp(lw - top)
        if w < 1e-3:
            continue
        if math.isinf(left):
            points.append((math.inf, w))
            continue
        for node, share in ((-math.sqrt(3), 1 / 6), (0.0, 2 / 3), (math.sqrt(3), 1 / 6)):
            points.append((left * math.exp(node * spread), w * share))
    points.sort()
    total = sum(w for _, w in points)
    atoms: list[float] = []
    acc = 0.0
    for left, w in points:
        acc += w / total
        while len(atoms) < ATOMS and acc >= (len(atoms) + 0.5) / ATOMS:
            atoms.append(left)
    return atoms + [math.inf] * (ATOMS - len(atoms))


def _carry_on(early: float, low: int) -> float:
    """Roughly what a poll `early` seconds before the finish leaves to pay: what the shortest
    wait overshoots from there, the lag of landing, and the polls it takes to get close."""
    reach = REACH * low
    return (
        max(low - early, 0.0)
        + LANDING_ERROR * min(early, reach)
        + POLL_COST * math.log2(max(1.0, early / reach))
    )


def _expected_cost(wait: int, atoms: Sequence[float], low: int) -> float:
    cost = 0.0
    for left in atoms:
        if left <= wait:
            cost += wait - left
        else:
            cost += POLL_COST + (_carry_on(left - wait, low) if math.isfinite(left) else 0.0)
    return cost / len(atoms)


def pace_bound(samples: Sequence[Sample]) -> float:
    """Seconds to 100 at the pace of the last interval (`math.inf` unless it rose more than
    `FLAT_POINTS`), that pace growing on exponentially as it grew from the interval before."""
    if len(samples) < 2 or samples[-1][1] - samples[-2][1] <= FLAT_POINTS:
        return math.inf
    (t1, p1), (t2, p2) = samples[-2:]
    if t2 <= t1:
        return math.inf
    pace, left = (p2 - p1) / (t2 - t1), max(0.0, 100 - p2)
    if len(samples) >= 3 and samples[-3][1] < p1 and samples[-3][0] < t1:
        t0, p0 = samples[-3]
        growth = math.log(pace * (t1 - t0) / (p1 - p0)) / ((t2 - t0) / 2)
        if growth > 0:
            return _or_unbounded(math.log1p(growth * left / pace) / growth)
    return _or_unbounded(left / pace)


def _or_unbounded(seconds: float) -> float:
    return seconds if seconds >= 0 else math.inf  # NaN (a sample no clock gives) bounds nothing


def next_wait(samples: Sequence[Sample], *, min_wait: float, max_wait: float, seconds_left: float) -> int:
    """Seconds to wait before the next poll: the wait that costs least against the forecast.

    `samples` are this export's polls so far, oldest first (`keep_samples` of them is enough).
    Waiting until one of the forecast's times left costs the lag behind the earlier ones, and a
    poll too early for the later ones (`POLL_COST`, plus `_carry_on`). So the wait is long while
    the finish is far or unknown, lands just after it when it is near and sure, and stops short of
    it (a poll that narrows it down) when it is near but unsure; the trade-off is `POLL_COST`.
    A stall is watched as if the render could resume at once; a drop is a re-render, at its pace.

    - no samples yet (the first Wait of an execution is the same), or latest progress at 100 (a
      100 not yet proven to be this export's): `min_wait`;
    - nothing moving at all: the longest wait allowed.

    Bounds: an int in [ceil(min_wait), floor(max_wait)] (min_wait wins if they cross), at most
    `GROWTH` times the time elapsed unless that is below min_wait, and never past the deadline:
    when fewer seconds than that are left, `max(1, floor(seconds_left))`, so the last poll lands on
    the deadline, and 1 once it has passed (the state machine's Choice ends the export at that
    poll). The result is always >= 1.
    """
    low = max(1, math.ceil(min_wait))
    high = max(low, math.floor(max_wait))
    if samples:
        high = max(low, min(high, math.floor(GROWTH * samples[-1][0])))
    if not samples or samples[-1][1] >= 100:
        wait = low
    else:
        atoms = forecast(samples)
        options = {low, high} | {min(high, max(low, math.ceil(a))) for a in atoms if math.isfinite(a)}
        wait = min(sorted(options, reverse=True), key=lambda w: _expected_cost(w, atoms, low))  # ties: longer
        wait = min(wait, max(low, math.floor(PACE_SHARE * min(pace_bound(samples), 1e9))))
    if seconds_left < wait:
        wait = max(1, math.floor(seconds_left)) if seconds_left >= 1 else 1
    return wait
