"""The wait schedules and their replay on a render's virtual clock, with and without webhooks.

A schedule is the planned one (the real `aistudios_export.waiting.next_wait`, fed only what the
execution state keeps: the real `keep_samples`) or a fixed wait. `replay` runs one execution the
way the state machine does (Wait, poll, Choice) until a poll sees 100. With webhooks, after each
poll the real arming decision (`aistudios_export.workflow.arming.arm`, as the poll calls it) sees
the events the receiver has confirmed by then, and may lengthen and arm the wait; a confirmed 100
ends an armed wait at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aistudios_export.waiting import DEFAULT_MAX_WAIT, DEFAULT_MIN_WAIT, Sample, keep_samples, next_wait
from aistudios_export.workflow.arming import MILESTONES as BELOW_100
from aistudios_export.workflow.arming import arm

from .costs import INVOCATION_SECONDS

DEADLINE_SECONDS = 30 * 60  # the template's default ExportDeadlineMinutes
MILESTONES = (*BELOW_100, 100.0)  # progress at which AI Studios posts a webhook
WEBHOOK_DELAY = (0.5, 3.0)  # seconds from reaching a milestone to its confirmed webhook (uniform)
LOST_SHARE = 0.2

Planner = Callable[[list[Sample], float], int]  # (samples kept so far, seconds left) -> next wait


class Arming(Protocol):
    """The poll's arming decision (`aistudios_export.workflow.arming.arm`, or a variant of it)."""

    def __call__(
        self, wait: int, events: Iterable[str], samples: Sequence[Sample], *,
        min_wait: float, max_wait: float, seconds_left: float,
    ) -> tuple[int, bool]: ...  # fmt: skip


class Render(Protocol):
    @property
    def finish(self) -> float: ...
    def progress(self, t: float) -> float: ...
    def clean(self, t: float) -> float: ...
    def reached(self, level: float) -> float: ...


@dataclass(frozen=True)
class Schedule:
    name: str
    first_wait: int
    plan: Planner
    min_wait: int
    max_wait: int


def planned(min_wait: int, max_wait: int) -> Schedule:
    def plan(samples: list[Sample], seconds_left: float) -> int:
        return next_wait(samples, min_wait=min_wait, max_wait=max_wait, seconds_left=seconds_left)

    return Schedule(f"planned {min_wait}/{max_wait}", min_wait, plan, min_wait, max_wait)


def fixed(seconds: int) -> Schedule:
    """A fixed wait; with webhooks, the poll's arming applies as to any planned wait (bounds: the
    template's defaults)."""
    return Schedule(
        f"fixed {seconds}s", seconds, lambda samples, left: seconds, DEFAULT_MIN_WAIT, DEFAULT_MAX_WAIT
    )


@dataclass(frozen=True)
class Webhooks:
    """Each milestone's delay from reaching it to its confirmation, and whether it is lost."""

    delays: Sequence[float]
    lost: Sequence[bool]


@dataclass(frozen=True)
class Run:
    lag: float
    polls: int
    armed_rounds: int
    webhooks: int  # receiver invocations


def _confirmed(render: Render, hooks: Webhooks) -> list[tuple[float, float]]:
    """(when, level) of each webhook the receiver confirms: the progress API shows the level then."""
    out = []
    for level, delay, lost in zip(MILESTONES, hooks.delays, hooks.lost, strict=True):
        at = render.reached(level) + delay
        if not lost and (level >= 100 or render.clean(at) >= level):
            out.append((at, level))
    return out


def replay(render: Render, schedule: Schedule, hooks: Webhooks | None = None, arming: Arming = arm) -> Run:
    confirmed = _confirmed(render, hooks) if hooks else []
    done_at = next((at for at, level in confirmed if level >= 100), None)
    samples: list[Sample] = []
    now, wait, polls, armed_rounds, armed = 0.0, float(schedule.first_wait), 0, 0, False
    while True:
        end = now + wait
        if armed and done_at is not None and now < done_at < end:
            end = done_at  # the receiver ends the armed wait
        now, polls, armed_rounds = end, polls + 1, armed_rounds + armed
        progress = render.progress(now)
        if progress >= 100 or now >= DEADLINE_SECONDS:
            return Run(now - render.finish, polls, armed_rounds, len(confirmed))
        samples = keep_samples([*samples, (now, progress)])
        now += INVOCATION_SECONDS  # the poll's own time on the clock
        wait = schedule.plan(samples, DEADLINE_SECONDS - now)
        if hooks is not None:
            events = [f"task:{level:g}" for at, level in confirmed if at <= now]
            wait, armed = arming(
                int(wait), events, samples, min_wait=schedule.min_wait, max_wait=schedule.max_wait,
                seconds_left=DEADLINE_SECONDS - now,
            )  # fmt: skip
