"""Polling benchmark: how soon each wait schedule sees a finished render, and what it costs.

Replays simulated AI Studios renders on a virtual clock (no sleeping, no network) the way the state
machine runs them: the execution starts with a Wait of the shortest wait, then each round is
wait -> 'Check progress' -> 'Is the render done?'. The planned schedule is the real
`aistudios_export.waiting.next_wait`, fed only what the execution state keeps (the real
`keep_samples`); next to it, fixed 60 s and 10 s loops. Lag is the time from the render reaching
100 to the poll that sees it.

Renders (not tuned to the planner): 1-12 minutes of work, a 0-10 s queue before progress moves; a
third each linear, slow-start (progress ~ work^1.4..2.2) and fast-start (~ work^0.5..0.75). Noise
is of two kinds: the render's speed wobbles (up to +/-20%, changing every 10-40 s) and each
reading jitters (sd up to 0.5 point); progress reads 100 only once done. 25% stall once for
20-120 s; 10% go backwards once (a re-render of 30-100% of the work done so far). The seed is
fixed: runs are reproducible.

Webhooks (the design of issue 10): AI Studios posts one at 25, 50, 75 and 100%; each that arrives
costs one receiver invocation, which confirms it with the progress API. A confirmed 100 ends the
wait in progress at once if that wait was armed (a wait of at least `ARM_FACTOR` times the
shortest, as the poll decides), and the poll runs then; delivery plus confirmation takes 0.5-3 s
(uniform). A lost webhook changes nothing: polling carries on as planned.

    make bench-polling   # or: PYTHONPATH=shared:. .venv/bin/python benchmarks/polling.py
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aistudios_export.waiting import DEFAULT_MAX_WAIT, DEFAULT_MIN_WAIT, Sample, keep_samples, next_wait
from aistudios_export.webhooks import ARM_FACTOR

ASL_PATH = Path(__file__).resolve().parent.parent / "statemachine" / "export.asl.json"

# List prices, us-east-1, used for the cost column (free tiers not applied).
SFN_PER_TRANSITION = 0.025 / 1000  # Step Functions Standard, $ per state transition
LAMBDA_GB_SECOND = 0.0000133334  # Lambda arm64, $ per GB-second
LAMBDA_REQUEST = 0.20 / 1_000_000  # Lambda, $ per request
FUNCTION_MEMORY_GB = 256 / 1024  # the poll and webhook receiver functions' MemorySize
INVOCATION_SECONDS = 0.3  # assumed billed duration of a poll or a receiver call (one AI Studios GET)
DEADLINE_SECONDS = 30 * 60  # the template's default ExportDeadlineMinutes
NOISE_MAX = 0.5  # reading jitter: sd 0..this many points
WOBBLE_MAX = 0.2  # rate jitter: speed 1 +/- up to 20%, changing every 10-40 s
MILESTONES = (25, 50, 75, 100)  # progress at which AI Studios posts a webhook
WEBHOOK_DELAY = (0.5, 3.0)  # seconds from reaching 100 to a confirmed webhook (uniform)
LOST_SHARE = 0.2


def rng_for(seed: int) -> random.Random:
    """A seeded generator: the benchmark is a reproducible simulation, not cryptography."""
    return random.Random(seed)  # noqa: S311


# -- what a round costs, read from the state machine itself -----------------------------------------


@dataclass(frozen=True)
class Transitions:
    """State transitions (states entered) of one wait-and-poll round, plain or armed, and of the
    way out once the render is done; `source` says where the numbers came from."""

    plain: int
    armed: int
    done: int
    source: str


def _walk(states: dict[str, Any], start: str, stop: str | None = None) -> int:
    """States entered from `start` (included) following `Next` until `stop` (included), or until
    the execution ends when `stop` is None."""
    name = start
    for count in range(1, len(states) + 1):
        state = states[name]
        if name == stop or (stop is None and (state["Type"] in ("Succeed", "Fail") or state.get("End"))):
            return count
        name = state["Next"]
    raise ValueError(f"no way from {start!r} to {stop or 'the end'!r}")


def transitions_from_asl(path: Path = ASL_PATH) -> Transitions:
    """Walks statemachine/export.asl.json: the round is the StartAt Wait to the Choice that loops
    back to it; the armed round is the Choice's other way back (a wait a webhook can end, timed by
    `nextWaitSeconds`); done is the Choice's way to the delivery (the rule on `downloadReady`), to
    its end. Falls back to today's numbers (3, 3, 2) if the definition no longer has that shape,
    and says so."""
    try:
        definition = json.loads(path.read_text())
        states, start = definition["States"], definition["StartAt"]
        choice = next(n for n, s in states.items() if s["Type"] == "Choice" and s.get("Default") == start)
        rules = [(json.dumps(rule), rule["Next"]) for rule in states[choice]["Choices"]]
        plain = armed = _walk(states, start, choice)
        for _, target in rules:
            if target != start and "nextWaitSeconds" in json.dumps(states[target]):
                armed = _walk(states, target, choice)
        done = next(target for text, target in rules if "downloadReady" in text)
        return Transitions(plain, armed, _walk(states, done), f"read from {path.name}")
    except (OSError, KeyError, StopIteration, ValueError) as exc:
        return Transitions(3, 3, 2, f"fallback constants: {path.name} not as expected ({exc!r})")


# -- simulated renders ------------------------------------------------------------------------------


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


# -- schedules and replays ----------------------------------------------------------------------------

Planner = Callable[[list[Sample], float], int]  # (samples kept so far, seconds left) -> next wait


@dataclass(frozen=True)
class Schedule:
    name: str
    first_wait: int
    plan: Planner
    arm_from: int  # waits at least this long may be ended by a webhook


def planned(min_wait: int, max_wait: int) -> Schedule:
    def plan(samples: list[Sample], seconds_left: float) -> int:
        return next_wait(samples, min_wait=min_wait, max_wait=max_wait, seconds_left=seconds_left)

    return Schedule(f"planned {min_wait}/{max_wait}", min_wait, plan, ARM_FACTOR * min_wait)


def fixed(seconds: int) -> Schedule:
    """A fixed wait, armed for webhooks under the default shortest wait's rule."""
    return Schedule(
        f"fixed {seconds}s", seconds, lambda samples, left: seconds, ARM_FACTOR * DEFAULT_MIN_WAIT
    )


@dataclass(frozen=True)
class Trace:
    """One execution without webhooks: its polls, rounds that could have been armed, and whether
    the last wait (the one that ends past 100) could have been."""

    polls: int
    lag: float
    armed_rounds: int
    last_armed: bool


def replay(render: Render, schedule: Schedule) -> Trace:
    samples: list[Sample] = []
    now, wait, polls, armed = 0.0, float(schedule.first_wait), 0, 0
    while True:
        last_armed = polls > 0 and wait >= schedule.arm_from  # the first Wait is the plain one
        polls += 1
        armed += last_armed
        now += wait
        progress = render.progress(now)
        if progress >= 100 or now >= DEADLINE_SECONDS:
            return Trace(polls, now - render.finish, armed, last_armed)
        samples = keep_samples([*samples, (now, progress)])
        now += INVOCATION_SECONDS  # the poll's own time on the clock
        wait = schedule.plan(samples, DEADLINE_SECONDS - now)


@dataclass(frozen=True)
class Run:
    lag: float
    polls: int
    armed_rounds: int
    webhooks: int  # receiver invocations


def with_webhooks(trace: Trace, delay: float, lost: list[bool]) -> Run:
    """The same execution with webhooks: polls up to the finish are the same (the planner never
    sees webhooks); a confirmed 100 ends the last wait early if it was armed and still running."""
    received = sum(not gone for gone in lost)
    lag = trace.lag
    if not lost[-1] and trace.last_armed and delay < trace.lag:
        lag = delay
    return Run(lag, trace.polls, trace.armed_rounds, received)


@dataclass(frozen=True)
class Row:
    name: str
    mean_lag: float
    p95_lag: float
    polls: float
    transitions: float
    cost: float


def measure(name: str, runs: list[Run], steps: Transitions) -> Row:
    lags = sorted(r.lag for r in runs)
    polls = statistics.fmean(r.polls for r in runs)
    armed = statistics.fmean(r.armed_rounds for r in runs)
    hooks = statistics.fmean(r.webhooks for r in runs)
    transitions = steps.plain * (polls - armed) + steps.armed * armed + steps.done
    invocation = FUNCTION_MEMORY_GB * INVOCATION_SECONDS * LAMBDA_GB_SECOND + LAMBDA_REQUEST
    cost = 1000 * (transitions * SFN_PER_TRANSITION + (polls + hooks) * invocation)
    p95 = lags[min(len(lags) - 1, math.ceil(0.95 * len(lags)) - 1)]
    return Row(name, statistics.fmean(lags), p95, polls, transitions, cost)


def evaluate(renders: list[Render], schedule: Schedule, seed: int, steps: Transitions) -> list[Row]:
    """Rows for the schedule without webhooks, with all of them arriving, and with 20% lost."""
    traces = [replay(render, schedule) for render in renders]
    rng = rng_for(seed)
    draws = [(rng.uniform(*WEBHOOK_DELAY), [rng.random() < LOST_SHARE for _ in MILESTONES]) for _ in renders]
    off = [Run(t.lag, t.polls, 0, 0) for t in traces]
    arrive = [
        with_webhooks(t, delay, [False] * len(MILESTONES))
        for t, (delay, _) in zip(traces, draws, strict=True)
    ]
    lossy = [with_webhooks(t, delay, lost) for t, (delay, lost) in zip(traces, draws, strict=True)]
    return [
        measure(schedule.name, off, steps),
        measure(f"{schedule.name} + webhooks", arrive, steps),
        measure(f"{schedule.name} + webhooks, 20% lost", lossy, steps),
    ]


def print_table(rows: list[Row]) -> None:
    print(
        f"{'schedule':<38} {'mean lag s':>10} {'p95 lag s':>10} {'polls':>7} {'transitions':>11} "
        f"{'$ / 1,000 exports':>17}"
    )
    for r in rows:
        print(
            f"{r.name:<38} {r.mean_lag:>10.2f} {r.p95_lag:>10.2f} {r.polls:>7.2f} {r.transitions:>11.2f} "
            f"{r.cost:>17.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--exports", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20240610)
    parser.add_argument("--sweep", action="store_true", help="also try allowed min/max pairs (no webhooks)")
    parser.add_argument("--jitter", type=float, default=NOISE_MAX, help="max sd of a reading, points")
    parser.add_argument("--wobble", type=float, default=WOBBLE_MAX, help="max speed wobble, fraction")
    args = parser.parse_args()
    renders = make_renders(args.exports, args.seed, args.jitter, args.wobble)
    steps = transitions_from_asl()
    finishes = [r.finish for r in renders]
    print(
        f"{len(renders)} simulated exports, seed {args.seed}: finish {min(finishes):.0f}-"
        f"{max(finishes):.0f} s (mean {statistics.fmean(finishes):.0f} s)"
    )
    print(
        f"prices: Step Functions Standard ${SFN_PER_TRANSITION * 1000:.3f} per 1,000 state transitions; "
        f"Lambda arm64 ${LAMBDA_GB_SECOND} per GB-s + ${LAMBDA_REQUEST * 1e6:.2f} per 1M requests, "
        f"{FUNCTION_MEMORY_GB * 1024:.0f} MB x {INVOCATION_SECONDS * 1000:.0f} ms per poll or receiver call "
        "(us-east-1 list prices, no free tier; API Gateway and DynamoDB not counted)"
    )
    print(
        f"state transitions ({steps.source}): {steps.plain} per round, {steps.armed} per round a webhook "
        f"may end, {steps.done} once done; webhooks: one at {', '.join(map(str, MILESTONES))}%, each one "
        f"receiver call; a confirmed 100 ends an armed wait (>= {ARM_FACTOR} x the shortest) "
        f"{WEBHOOK_DELAY[0]}-{WEBHOOK_DELAY[1]} s after the finish; no extra state transition"
    )
    if args.sweep:
        mins, maxes = [10, 15, 20], [60, 90, 120, 180, 300]
        sweep = [planned(lo, hi) for lo in mins for hi in maxes if lo <= hi]
        print_table([evaluate(renders, s, args.seed, steps)[0] for s in sweep])
        print()
    by_schedule = [
        evaluate(renders, s, args.seed, steps)
        for s in (planned(DEFAULT_MIN_WAIT, DEFAULT_MAX_WAIT), fixed(60), fixed(10))
    ]
    print_table([rows[mode] for mode in range(3) for rows in by_schedule])
    plan, fixed60 = by_schedule[0][0], by_schedule[1][0]
    met = plan.mean_lag <= 5 and plan.p95_lag <= 15 and plan.polls <= fixed60.polls
    print(f"targets (mean <= 5 s, p95 <= 15 s, polls <= fixed 60 s): {'met' if met else 'NOT met'}")
    print(
        f"polling: mean_lag_s={plan.mean_lag:.2f} p95_lag_s={plan.p95_lag:.2f} "
        f"polls_per_export={plan.polls:.2f} fixed60_mean_lag_s={fixed60.mean_lag:.2f} "
        f"fixed60_polls_per_export={fixed60.polls:.2f}"
    )


if __name__ == "__main__":
    main()
