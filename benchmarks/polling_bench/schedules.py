"""The wait schedules and their replay on a render's virtual clock, with and without webhooks.

A schedule is the planned one (the real `aistudios_export.waiting.next_wait`, fed only what the
execution state keeps: the real `keep_samples`) or a fixed wait. `replay` runs one execution the
way the state machine does (Wait, poll, Choice) until a poll sees 100; `with_webhooks` then ends
the last wait early when a confirmed 100 arrives while that wait was armed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aistudios_export.waiting import DEFAULT_MIN_WAIT, Sample, keep_samples, next_wait
from aistudios_export.workflow.arming import ARM_FACTOR

from .costs import INVOCATION_SECONDS
from .renders import Render

DEADLINE_SECONDS = 30 * 60  # the template's default ExportDeadlineMinutes
MILESTONES = (25, 50, 75, 100)  # progress at which AI Studios posts a webhook
WEBHOOK_DELAY = (0.5, 3.0)  # seconds from reaching 100 to a confirmed webhook (uniform)
LOST_SHARE = 0.2

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
