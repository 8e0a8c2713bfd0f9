"""What the polling benchmark prints: a row per schedule (mean and p95 lag, polls, state transitions,
dollars per 1,000 exports), measured without webhooks, with all of them and with 20% lost; the
header that says what was simulated and priced; the targets and the one-line summary."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from aistudios_export.workflow.arming import ARM_FACTOR

from .costs import (
    FUNCTION_MEMORY_GB,
    INVOCATION_SECONDS,
    LAMBDA_GB_SECOND,
    LAMBDA_REQUEST,
    SFN_PER_TRANSITION,
    Transitions,
)
from .renders import Render, rng_for
from .schedules import LOST_SHARE, MILESTONES, WEBHOOK_DELAY, Run, Schedule, replay, with_webhooks


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


def print_header(renders: list[Render], seed: int, steps: Transitions) -> None:
    """The renders simulated, the prices, and what a round costs in state transitions."""
    finishes = [r.finish for r in renders]
    print(
        f"{len(renders)} simulated exports, seed {seed}: finish {min(finishes):.0f}-"
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


def print_summary(plan: Row, fixed60: Row) -> None:
    """The targets (against the fixed 60 s loop) and the one line a script reads."""
    met = plan.mean_lag <= 5 and plan.p95_lag <= 15 and plan.polls <= fixed60.polls
    print(f"targets (mean <= 5 s, p95 <= 15 s, polls <= fixed 60 s): {'met' if met else 'NOT met'}")
    print(
        f"polling: mean_lag_s={plan.mean_lag:.2f} p95_lag_s={plan.p95_lag:.2f} "
        f"polls_per_export={plan.polls:.2f} fixed60_mean_lag_s={fixed60.mean_lag:.2f} "
        f"fixed60_polls_per_export={fixed60.polls:.2f}"
    )
