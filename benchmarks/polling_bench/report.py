"""What the polling benchmark prints: per family and overall, mean and p95 lag and polls for each
schedule without webhooks, with all of them and with 20% lost; the overall rows with state
transitions and dollars per 1,000 exports; the header that says what was simulated and priced;
the targets and the one-line summary."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from aistudios_export.workflow.arming import ARM_MIN_SECONDS

from .costs import (
    FUNCTION_MEMORY_GB,
    INVOCATION_SECONDS,
    LAMBDA_GB_SECOND,
    LAMBDA_REQUEST,
    SFN_PER_TRANSITION,
    Transitions,
)
from .renders import rng_for
from .schedules import LOST_SHARE, MILESTONES, WEBHOOK_DELAY, Render, Run, Schedule, Webhooks, replay

MODES = ("", " + webhooks", " + webhooks, 20% lost")


@dataclass(frozen=True)
class Row:
    name: str
    mean_lag: float
    p95_lag: float
    polls: float
    transitions: float
    cost: float


def floor(min_wait: float) -> float:
    """The least mean lag, in expectation, of any schedule whose polls are at least `min_wait` apart
    (plus the poll's own time) on finishes it cannot foresee: when a finish is equally likely
    anywhere in the gap it falls in, whatever the polls saw before it (a step, the end of a plateau
    or a stall), it waits half that gap on average, and gaps of d >= `min_wait` + the poll give a
    mean of sum(d^2) / (2 sum(d)) >= half the shortest. One set of renders scatters around it (120
    of them by about a quarter of a second either way)."""
    return (min_wait + INVOCATION_SECONDS) / 2


def p95(values: Sequence[float]) -> float:
    """The 95th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def measure(name: str, runs: Sequence[Run], steps: Transitions) -> Row:
    lags = [r.lag for r in runs]
    polls = statistics.fmean(r.polls for r in runs)
    armed = statistics.fmean(r.armed_rounds for r in runs)
    hooks = statistics.fmean(r.webhooks for r in runs)
    transitions = steps.plain * (polls - armed) + steps.armed * armed + steps.done
    invocation = FUNCTION_MEMORY_GB * INVOCATION_SECONDS * LAMBDA_GB_SECOND + LAMBDA_REQUEST
    cost = 1000 * (transitions * SFN_PER_TRANSITION + (polls + hooks) * invocation)
    return Row(name, statistics.fmean(lags), p95(lags), polls, transitions, cost)


def webhook_draws(count: int, seed: int) -> tuple[list[Webhooks], list[Webhooks]]:
    """Per render: all webhooks delivered, and the same delays with 20% of them lost at random."""
    rng = rng_for(seed)
    arrive, lossy = [], []
    for _ in range(count):
        delays = [rng.uniform(*WEBHOOK_DELAY) for _ in MILESTONES]
        arrive.append(Webhooks(delays, [False] * len(MILESTONES)))
        lossy.append(Webhooks(delays, [rng.random() < LOST_SHARE for _ in MILESTONES]))
    return arrive, lossy


def runs(renders: Sequence[Render], schedule: Schedule, seed: int) -> list[list[Run]]:
    """The schedule's runs on `renders`: without webhooks, with all of them, with 20% lost."""
    arrive, lossy = webhook_draws(len(renders), seed)
    return [
        [replay(r, schedule) for r in renders],
        [replay(r, schedule, h) for r, h in zip(renders, arrive, strict=True)],
        [replay(r, schedule, h) for r, h in zip(renders, lossy, strict=True)],
    ]


def print_header(families: dict[str, Sequence[Render]], seed: int, steps: Transitions) -> None:
    """The renders simulated, the prices, and what a round costs in state transitions."""
    finishes = [r.finish for renders in families.values() for r in renders]
    print(
        f"{len(finishes)} simulated exports in {len(families)} families, seed {seed}: finish "
        f"{min(finishes):.0f}-{max(finishes):.0f} s (mean {statistics.fmean(finishes):.0f} s)"
    )
    print(
        f"prices: Step Functions Standard ${SFN_PER_TRANSITION * 1000:.3f} per 1,000 state transitions; "
        f"Lambda arm64 ${LAMBDA_GB_SECOND} per GB-s + ${LAMBDA_REQUEST * 1e6:.2f} per 1M requests, "
        f"{FUNCTION_MEMORY_GB * 1024:.0f} MB x {INVOCATION_SECONDS * 1000:.0f} ms per poll or receiver call "
        "(us-east-1 list prices, no free tier; API Gateway and DynamoDB not counted)"
    )
    print(
        f"state transitions ({steps.source}): {steps.plain} per round, {steps.armed} per round a webhook "
        f"may end, {steps.done} once done; webhooks: one at {', '.join(f'{m:g}' for m in MILESTONES)}%, "
        f"each confirmed {WEBHOOK_DELAY[0]}-{WEBHOOK_DELAY[1]} s after the render reaches it, one receiver "
        f"call; the poll's arming (workflow/arming.py) arms waits of >= {ARM_MIN_SECONDS} s, and makes "
        "them that long while webhooks arrive; a confirmed 100 ends an armed wait at once"
    )


def print_families(names: Sequence[str], by_family: dict[str, list[list[Row]]]) -> None:
    """One line per family and webhook mode: mean lag, p95 lag and polls of each schedule."""
    schedules = [row.name for row in next(iter(by_family.values()))[0]]
    print(f"{'family':<24} {'webhooks':<9}" + "".join(f" {s:>22}" for s in schedules))
    print(f"{'':<24} {'':<9}" + " {:>22}".format("mean / p95 s / polls") * len(schedules))
    for family, modes in by_family.items():
        for mode, rows in zip(("off", "all", "20% lost"), modes, strict=True):
            cells = "".join(f" {r.mean_lag:>6.2f} {r.p95_lag:>6.2f} {r.polls:>7.2f} " for r in rows)
            print(f"{family:<24} {mode:<9}{cells}")
    del names


def print_table(rows: Sequence[Row]) -> None:
    print(
        f"{'schedule (all families)':<38} {'mean lag s':>10} {'p95 lag s':>10} {'polls':>7} "
        f"{'transitions':>11} {'$ / 1,000 exports':>17}"
    )
    for r in rows:
        print(
            f"{r.name:<38} {r.mean_lag:>10.2f} {r.p95_lag:>10.2f} {r.polls:>7.2f} {r.transitions:>11.2f} "
            f"{r.cost:>17.3f}"
        )


def print_summary(overall: Sequence[Row], fixed60: Row, families: dict[str, Row], min_wait: float) -> bool:
    """The targets, each with its figure, and the one line a script reads; True if all are met."""
    plan, hooks, lossy = overall
    worst = max(families.values(), key=lambda r: r.p95_lag)
    worst_mean = max(families.values(), key=lambda r: r.mean_lag)
    checks = [
        (
            f"every family: planned mean lag <= 5 s (worst {worst_mean.mean_lag:.2f}; no schedule with waits "
            f">= {min_wait:g} s averages under {floor(min_wait):.2f} s, in expectation, on finishes it cannot foresee)",
            worst_mean.mean_lag <= 5,
        ),
        (f"every family: planned p95 lag <= 15 s (worst {worst.p95_lag:.2f})", worst.p95_lag <= 15),
        (
            f"planned polls <= fixed 60 s ({plan.polls:.2f} vs {fixed60.polls:.2f})",
            plan.polls <= fixed60.polls,
        ),
        (f"webhooks: mean lag <= 2 s ({hooks.mean_lag:.2f})", hooks.mean_lag <= 2),
        (f"webhooks: p95 lag <= 3 s ({hooks.p95_lag:.2f})", hooks.p95_lag <= 3),
        (f"webhooks: polls <= fixed 60 s ({hooks.polls:.2f})", hooks.polls <= fixed60.polls),
        (f"20% lost: p95 lag <= 15 s ({lossy.p95_lag:.2f})", lossy.p95_lag <= 15),
    ]
    for text, ok in checks:
        print(f"target {'met    ' if ok else 'NOT met'}  {text}")
    print(
        f"polling: mean_lag_s={plan.mean_lag:.2f} p95_lag_s={plan.p95_lag:.2f} "
        f"polls_per_export={plan.polls:.2f} fixed60_mean_lag_s={fixed60.mean_lag:.2f} "
        f"fixed60_polls_per_export={fixed60.polls:.2f} worst_family_p95_lag_s={worst.p95_lag:.2f} "
        f"webhooks_mean_lag_s={hooks.mean_lag:.2f} webhooks_p95_lag_s={hooks.p95_lag:.2f} "
        f"lost20_p95_lag_s={lossy.p95_lag:.2f}"
    )
    return all(ok for _, ok in checks)
