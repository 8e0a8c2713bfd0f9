"""Polling benchmark: how soon each wait schedule sees a finished render, and what it costs.

Replays simulated AI Studios renders on a virtual clock (no sleeping, no network) through the real
`aistudios_export.waiting.next_wait`, next to fixed 60 s and 10 s loops and today's
`next_wait_seconds`, the way the state machine runs them: the execution starts with a Wait of the
first wait, then each round is Wait -> 'Check progress' -> 'Is the render done?'.

Renders: 1-12 minutes of work, a 0-10 s queue before progress moves; a third each linear,
slow-start (progress ~ t^1.4..2.2) and fast-start (~ t^0.5..0.75). Noise is of two kinds: the
render's speed wobbles (up to +/-20%, changing every 10-40 s) and each reading jitters (sd up to
0.5 point); progress reads 100 only once done. 25% stall once for 20-120 s; 10% go backwards once
(a re-render of 30-100% of the work done so far). The seed is fixed: runs are reproducible.

Webhooks (optional in the real stack): when the render reaches 100, a webhook arrives 1-3 s later
and cuts the current wait short; one poll confirms it. "lost 20%" drops a fifth of them.

    make bench-polling   # or: PYTHONPATH=shared .venv/bin/python benchmarks/polling.py
"""

from __future__ import annotations

import argparse
import functools
import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from aistudios_export.waiting import (
    DEFAULT_MAX_WAIT,
    DEFAULT_MIN_WAIT,
    Sample,
    keep_samples,
    next_wait,
    next_wait_seconds,
)

# List prices (us-east-1) used for the cost column.
SFN_PER_TRANSITION = 0.025 / 1000  # Step Functions Standard, $ per state transition
LAMBDA_GB_SECOND = 0.0000133334  # Lambda arm64, $ per GB-second
LAMBDA_REQUEST = 0.20 / 1_000_000  # Lambda, $ per request
POLL_MEMORY_GB = 256 / 1024  # the poll function's MemorySize
POLL_SECONDS = 0.3  # assumed average poll duration (billed), also the poll's share of the clock
# Per export: each round is Wait + 'Check progress' + 'Is the render done?'; then 'Deliver video'
# and 'Delivered' (the same for every schedule, counted so the totals are real).
TRANSITIONS_PER_ROUND = 3
TRANSITIONS_AFTER = 2
DEADLINE_SECONDS = 30 * 60  # the template's default ExportDeadlineMinutes
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

    def progress(self, t: float) -> float:
        if t >= self.finish:
            return 100.0
        clean = 100.0 * self.fraction(t) ** self.exponent
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


Planner = Callable[[list[Sample], float], int]  # (samples so far, seconds left) -> next wait


@dataclass(frozen=True)
class Schedule:
    name: str
    first_wait: int
    plan: Planner


def planned(min_wait: int, max_wait: int) -> Schedule:
    def plan(samples: list[Sample], seconds_left: float) -> int:
        return next_wait(samples, min_wait=min_wait, max_wait=max_wait, seconds_left=seconds_left)

    return Schedule(f"planned {min_wait}/{max_wait}", min_wait, plan)


def current(min_wait: int = 15, max_wait: int = 60) -> Schedule:
    def plan(samples: list[Sample], seconds_left: float) -> int:
        t, p = samples[-1]
        return min(next_wait_seconds(p, t, min_wait, max_wait), max(1, math.floor(seconds_left)))

    return Schedule(f"current {min_wait}/{max_wait}", min_wait, plan)


def fixed(seconds: int) -> Schedule:
    return Schedule(f"fixed {seconds}s", seconds, lambda samples, left: seconds)


@dataclass(frozen=True)
class Run:
    lag: float
    polls: int
    webhooks: int


def replay(render: Render, schedule: Schedule, webhook_delay: float | None) -> Run:
    """One execution on the virtual clock. `webhook_delay`: seconds after the finish that a
    webhook cuts the current wait short, or None when no webhook arrives."""
    finish = render.finish
    hook = None if webhook_delay is None else finish + webhook_delay
    samples: list[Sample] = []
    now, wait, polls = 0.0, float(schedule.first_wait), 0
    while True:
        due = now + wait
        if hook is not None and now < hook < due:
            due = hook  # the confirmed webhook ends the wait: poll now
        now = due
        polls += 1
        progress = render.progress(now)
        if progress >= 100 or now >= DEADLINE_SECONDS:
            return Run(now - finish, polls, 0 if hook is None else 1)
        samples = keep_samples([*samples, (now, progress)])
        now += POLL_SECONDS
        wait = schedule.plan(samples, DEADLINE_SECONDS - now)


@dataclass(frozen=True)
class Row:
    name: str
    mean_lag: float
    p95_lag: float
    polls: float
    transitions: float
    cost: float


def measure(name: str, runs: list[Run]) -> Row:
    lags = sorted(r.lag for r in runs)
    polls = statistics.fmean(r.polls for r in runs)
    hooks = statistics.fmean(r.webhooks for r in runs)
    transitions = TRANSITIONS_PER_ROUND * polls + TRANSITIONS_AFTER
    # Lambda: each poll, plus the webhook receiver (same size and duration assumed) per webhook.
    invocations = polls + hooks
    lambda_cost = invocations * (POLL_MEMORY_GB * POLL_SECONDS * LAMBDA_GB_SECOND + LAMBDA_REQUEST)
    cost = 1000 * (transitions * SFN_PER_TRANSITION + lambda_cost)
    p95 = lags[min(len(lags) - 1, math.ceil(0.95 * len(lags)) - 1)]
    return Row(name, statistics.fmean(lags), p95, polls, transitions, cost)


def evaluate(renders: list[Render], schedule: Schedule, webhooks: str, seed: int) -> Row:
    rng = rng_for(seed)
    runs = []
    for render in renders:
        delay = rng.uniform(1, 3)
        lost = rng.random() < 0.2
        if webhooks == "off" or (webhooks == "lost 20%" and lost):
            runs.append(replay(render, schedule, None))
        else:
            runs.append(replay(render, schedule, delay))
    label = schedule.name if webhooks == "off" else f"{schedule.name} + webhooks ({webhooks})"
    return measure(label, runs)


def print_table(rows: list[Row]) -> None:
    print(
        f"{'schedule':<44} {'mean lag s':>10} {'p95 lag s':>10} {'polls':>7} {'transitions':>11} "
        f"{'$ / 1000':>9}"
    )
    for r in rows:
        print(
            f"{r.name:<44} {r.mean_lag:>10.1f} {r.p95_lag:>10.1f} {r.polls:>7.2f} {r.transitions:>11.1f} "
            f"{r.cost:>9.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--exports", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20240610)
    parser.add_argument("--sweep", action="store_true", help="also try every allowed min/max pair")
    parser.add_argument("--jitter", type=float, default=NOISE_MAX, help="max sd of a reading, points")
    parser.add_argument("--wobble", type=float, default=WOBBLE_MAX, help="max speed wobble, fraction")
    args = parser.parse_args()
    renders = make_renders(args.exports, args.seed, args.jitter, args.wobble)
    finishes = [r.finish for r in renders]
    print(
        f"{len(renders)} simulated exports, seed {args.seed}: finish {min(finishes):.0f}-"
        f"{max(finishes):.0f} s (mean {statistics.fmean(finishes):.0f} s)"
    )
    print(
        f"prices: Step Functions Standard ${SFN_PER_TRANSITION * 1000:.3f} per 1,000 transitions; Lambda arm64 "
        f"${LAMBDA_GB_SECOND} per GB-s + ${LAMBDA_REQUEST * 1e6:.2f} per 1M requests; poll function "
        f"{POLL_MEMORY_GB * 1024:.0f} MB, {POLL_SECONDS * 1000:.0f} ms per call"
    )
    print(
        f"transitions per export = {TRANSITIONS_PER_ROUND} per poll (Wait, Check progress, Is the render "
        f"done?) + {TRANSITIONS_AFTER} (Deliver video, Delivered); webhook receiver billed as one more "
        "Lambda call per webhook (API Gateway not counted)"
    )
    if args.sweep:
        mins, maxes = [10, 15, 20, 30], [60, 90, 120, 180, 300]
        sweep = [planned(lo, hi) for lo in mins for hi in maxes if lo <= hi]
        print_table([evaluate(renders, s, "off", args.seed) for s in sweep])
        print()
    schedules = [planned(DEFAULT_MIN_WAIT, DEFAULT_MAX_WAIT), current(), fixed(60), fixed(10)]
    rows = [
        evaluate(renders, s, webhooks, args.seed)
        for webhooks in ("off", "arrive", "lost 20%")
        for s in schedules
    ]
    print_table(rows)
    plan, fixed60 = rows[0], rows[2]
    met = plan.mean_lag <= 5 and plan.p95_lag <= 15 and plan.polls <= fixed60.polls
    print(f"targets (mean <= 5 s, p95 <= 15 s, polls <= fixed 60 s): {'met' if met else 'NOT met'}")
    print(
        f"polling: mean_lag_s={plan.mean_lag:.2f} p95_lag_s={plan.p95_lag:.2f} "
        f"polls_per_export={plan.polls:.2f} fixed60_mean_lag_s={fixed60.mean_lag:.2f} "
        f"fixed60_polls_per_export={fixed60.polls:.2f}"
    )


if __name__ == "__main__":
    main()
