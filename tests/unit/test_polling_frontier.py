"""The polling benchmark's frontier (make bench-polling BENCH_ARGS=--frontier): the floor it prints
holds for the densest schedule the template allows, and its arming variants keep the history bound
of the real arming (no wait under `arm_from(min_wait)` is armed)."""

from __future__ import annotations

import random
import statistics

import pytest

from aistudios_export.workflow.arming import MILESTONES, arm, arm_from
from benchmarks.polling_bench.families import make_family
from benchmarks.polling_bench.frontier import ARMINGS, distrusting
from benchmarks.polling_bench.report import floor, webhook_draws
from benchmarks.polling_bench.schedules import fixed, replay


def test_the_floor_is_what_the_densest_allowed_schedule_gets_on_steps() -> None:
    """A fixed 10 s loop polls as often as the template allows; on renders that finish with a jump
    no sample foretells it averages the floor (within the spread of 200 draws), and no schedule
    polling less often can do better on them."""
    renders = make_family("steps", 200, seed=7)
    lags = [replay(r, fixed(10)).lag for r in renders]
    assert statistics.fmean(lags) == pytest.approx(floor(10), abs=0.3)
    assert max(lags) <= 10 + 0.3 + 1e-6
    assert floor(10) > 5  # the per-family target of 5 s is below it


def test_a_distrusting_schedule_caps_its_waits_from_the_level() -> None:
    schedule = distrusting(10, 15, 30)
    climbing = [(20.0, 5.0), (60.0, 12.0), (120.0, 24.0)]
    assert schedule.plan(climbing, 3600) > 15  # below 30%: the planner's own wait
    flat = [(20.0, 5.0), (60.0, 35.0), (400.0, 35.0)]
    assert schedule.plan(flat, 3600) <= 15


def test_replay_with_the_real_arming_is_the_default() -> None:
    renders = make_family("smooth: S-curve", 5, seed=3)
    arrive, _ = webhook_draws(len(renders), 3)
    schedule = fixed(60)
    for render, hooks in zip(renders, arrive, strict=True):
        assert replay(render, schedule, hooks) == replay(render, schedule, hooks, arm)


@pytest.mark.parametrize("name", list(ARMINGS))
def test_no_arming_variant_arms_a_wait_the_history_bound_forbids(name: str) -> None:
    variant, rng = ARMINGS[name], random.Random(name)
    for _ in range(300):
        min_wait = rng.choice((1, 5, 10, 15, 20, 30))
        samples = [
            (10.0 * (i + 1), min(99.0, rng.uniform(0, 20) * (i + 1))) for i in range(rng.randint(1, 6))
        ]
        events = [f"t:{m:g}" for m in MILESTONES if m <= samples[-1][1] or rng.random() < 0.2]
        wait, armed = variant(
            rng.randint(1, 300),
            events,
            samples,
            min_wait=min_wait,
            max_wait=300,
            seconds_left=rng.uniform(1, 4000),
        )
        assert wait >= 1
        if armed:
            assert wait >= arm_from(min_wait)
