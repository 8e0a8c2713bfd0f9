"""What the polling targets cost: the planner and the arming next to variants of them, on the same
renders, so the trade-offs the targets sit on can be read off instead of argued.

Without webhooks, the planned wait against ways of distrusting a plateau (never wait long once
progress could finish in one jump), a shorter `PollMaxWaitSeconds`, and a 5 s shortest wait (which
the template does not allow: its history-event arithmetic, in template.yaml, assumes waits of 10 s
or more). With webhooks, the arming against other ways of stretching its waits. Each variant wraps
the real `next_wait` or `arm`; nothing here is used by the application.

    make bench-polling BENCH_ARGS=--frontier
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor

from aistudios_export.waiting import DEFAULT_MAX_WAIT, DEFAULT_MIN_WAIT, Sample, forecast, next_wait
from aistudios_export.workflow.arming import (
    MILESTONES,
    STRETCH,
    STRETCH_BELOW,
    arm,
    arm_from,
    webhooks_arriving,
)

from .costs import Transitions
from .report import floor, measure, p95, webhook_draws
from .schedules import Arming, Render, Schedule, fixed, planned, replay

FAMILY_MEAN, FAMILY_P95, LOST_P95 = 5.0, 15.0, 15.0  # the targets of make bench-polling
UNPRICED = Transitions(0, 0, 0, "not priced here")


def _capped(samples: list[Sample], left: float, *, min_wait: int, cap: int, above: float) -> int:
    wait = next_wait(samples, min_wait=min_wait, max_wait=DEFAULT_MAX_WAIT, seconds_left=left)
    return min(wait, max(min_wait, cap)) if samples and samples[-1][1] >= above else wait


def distrusting(min_wait: int, cap: int, above: float) -> Schedule:
    """The planned wait, but never over `cap` once progress reads `above` or more."""
    plan = functools.partial(_capped, min_wait=min_wait, cap=cap, above=above)
    name = f"planned {min_wait}/{DEFAULT_MAX_WAIT}, <= {cap} s from {above:g}%"
    return Schedule(name, min_wait, plan, min_wait, DEFAULT_MAX_WAIT)


def _stretched(
    wait: int, events: Iterable[str], samples: Sequence[Sample], *, min_wait: float, max_wait: float,
    seconds_left: float, factor: float, below: float, atom: int | None = None,
) -> tuple[int, bool]:  # fmt: skip
    """`arm`, stretching `factor` times below `below` percent, and with `atom` only while the
    forecast's `atom`-th of its equally likely times left lies beyond the stretched wait."""
    shortest = arm_from(min_wait)
    if webhooks_arriving(events, samples) and shortest <= min(max_wait, seconds_left):
        wait = max(wait, shortest)
        stretched = int(min(max_wait, seconds_left, factor * wait))
        if samples and samples[-1][1] < below and (atom is None or forecast(samples)[atom] > stretched):
            wait = max(wait, stretched)
    return wait, wait >= shortest


def _before(**how: float) -> Arming:
    return functools.partial(_stretched, **{"factor": 2, "below": MILESTONES[-1]} | how)


ARMINGS: dict[str, Arming] = {
    f"today (x{STRETCH} below {STRETCH_BELOW:g})": arm,
    f"x2 below {MILESTONES[-1]:g} (the former arming)": _before(),
    "no stretch": _before(factor=1),
    **{
        f"x2 below {MILESTONES[-1]:g} if >= {40 - k}/40 of the forecast is past it": _before(atom=k)
        for k in (12, 26)
    },
    "x3 below 55": _before(factor=3, below=55),
}


def schedules() -> list[Schedule]:
    return [
        planned(DEFAULT_MIN_WAIT, DEFAULT_MAX_WAIT),
        planned(DEFAULT_MIN_WAIT, 60),
        distrusting(DEFAULT_MIN_WAIT, 30, 30),
        distrusting(DEFAULT_MIN_WAIT, 15, 30),
        planned(5, DEFAULT_MAX_WAIT),
        distrusting(5, 10, 30),
        fixed(DEFAULT_MIN_WAIT),
        fixed(60),
    ]


def _without_hooks(families: dict[str, list[Render]], index: int) -> tuple[str, list[list[float]]]:
    """Per family: lags and polls of the `index`-th schedule without webhooks (an index, since a
    schedule's plan does not pickle)."""
    schedule, out = schedules()[index], []
    for renders in families.values():
        runs = [replay(r, schedule) for r in renders]
        out.append([r.lag for r in runs] + [statistics.fmean(r.polls for r in runs)])
    return schedule.name, out


def _with_hooks(families: dict[str, list[Render]], name: str, seed: int) -> tuple[str, list[float]]:
    """Mean, p95 lag and polls with every webhook, p95 lag and polls with 20% lost."""
    schedule, arming = planned(DEFAULT_MIN_WAIT, DEFAULT_MAX_WAIT), ARMINGS[name]
    every, lossy = [], []
    for renders in families.values():
        arrive, lost = webhook_draws(len(renders), seed)
        every += [replay(r, schedule, h, arming) for r, h in zip(renders, arrive, strict=True)]
        lossy += [replay(r, schedule, h, arming) for r, h in zip(renders, lost, strict=True)]
    a, b = measure(name, every, UNPRICED), measure(name, lossy, UNPRICED)
    return name, [a.mean_lag, a.p95_lag, a.polls, b.p95_lag, b.polls]


def print_frontier(families: dict[str, list[Render]], seed: int, workers: int = 2) -> None:
    """Runs every variant (in `workers` processes) and prints the two tables."""
    with ProcessPoolExecutor(workers) as pool:
        plain = list(pool.map(functools.partial(_without_hooks, families), range(len(schedules()))))
        hooked = list(pool.map(functools.partial(_with_hooks, families, seed=seed), list(ARMINGS)))
    polls60 = next(statistics.fmean(f[-1] for f in per) for name, per in plain if name == "fixed 60s")
    print(f"without webhooks (targets: every family mean <= {FAMILY_MEAN:g} s and p95 <= {FAMILY_P95:g} s, "
          f"polls <= fixed 60 s = {polls60:.2f}; {len(families)} families)")  # fmt: skip
    print(f"{'schedule':<40} {'worst mean':>10} {'worst p95':>10} {'polls':>7} {'families meeting both':>22}")
    for name, per in plain:
        means = [statistics.fmean(f[:-1]) for f in per]
        p95s = [p95(f[:-1]) for f in per]
        meeting = sum(m <= FAMILY_MEAN and p <= FAMILY_P95 for m, p in zip(means, p95s, strict=True))
        polls = statistics.fmean(f[-1] for f in per)
        print(f"{name:<40} {max(means):>10.2f} {max(p95s):>10.2f} {polls:>7.2f} {meeting:>22}")
    for wait in sorted({DEFAULT_MIN_WAIT, 5}):
        print(f"floor: no schedule with waits >= {wait} s averages under {floor(wait):.2f} s, in expectation, "
              "on finishes it cannot foresee (a step, the end of a plateau or a stall; report.floor)")  # fmt: skip
    print()
    print(f"with webhooks, planned {DEFAULT_MIN_WAIT}/{DEFAULT_MAX_WAIT} (targets: all delivered mean <= 2 s, "
          f"p95 <= 3 s, polls <= {polls60:.2f}; 20% lost p95 <= {LOST_P95:g} s)")  # fmt: skip
    print(f"{'arming':<50} {'mean':>6} {'p95':>6} {'polls':>7} {'lost p95':>9} {'lost polls':>11}")
    for name, (mean, p95_lag, polls, lost_p95, lost_polls) in hooked:
        print(f"{name:<50} {mean:>6.2f} {p95_lag:>6.2f} {polls:>7.2f} {lost_p95:>9.2f} {lost_polls:>11.2f}")
