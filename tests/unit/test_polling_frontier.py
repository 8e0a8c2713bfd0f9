"""The polling benchmark's frontier (make bench-polling BENCH_ARGS=--frontier): the floor it prints
holds for the densest schedule the template allows, and its arming variants keep the history bound
of the real arming (no wait under `arm_from(min_wait)` is armed)."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from aistudios_export.workflow.arming import MILESTONES, arm, arm_from
from benchmarks.polling_bench.families import make_family
from benchmarks.polling_bench.frontier import ARMINGS, distrusting
from benchmarks.polling_bench.report import floor, webhook_draws
from benchmarks.polling_bench.schedules import fixed, replay


def test_the_floor_is_half_the_shortest_gap_between_polls() -> None:
    """Finishes equally likely anywhere, polls every `min_wait` + the poll's own time: the mean lag
    is the floor; polls further apart only raise it."""
    assert floor(10) == pytest.approx(5.15)
    rng = random.Random(1)
    for gap in (10.3, 13.0, 30.0):
        finishes = [rng.uniform(0, 3000) for _ in range(20_000)]
        mean = statistics.fmean(math.ceil(f / gap) * gap - f for f in finishes)
        assert mean == pytest.approx(gap / 2, abs=0.1)
        assert mean >= floor(10) - 0.1


def test_the_densest_allowed_schedule_gets_the_floor_on_steps() -> None:
    """A fixed 10 s loop polls as often as the template allows; on renders that finish with a jump
    no sample foretells, it averages the floor (600 renders: within 2.5 standard errors) and is
    never later than one gap."""
    renders = make_family("steps", 600, seed=7)
    lags = [replay(r, fixed(10)).lag for r in renders]
    assert statistics.fmean(lags) == pytest.approx(floor(10), abs=0.3)
    assert max(lags) <= 10 + 0.3 + 1e-6


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
def test_an_arming_variant_keeps_the_bounds_of_the_real_one(name: str) -> None:
    """No armed wait under `arm_from(min_wait)` (the history bound), none raised past the longest
    wait or the deadline, none shortened, and no samples at all (an outage's wait) is no error."""
    variant, rng = ARMINGS[name], random.Random(name)
    assert variant(30, ["t:25"], [], min_wait=10, max_wait=180, seconds_left=900) == (30, True)
    for _ in range(300):
        min_wait, max_wait = rng.choice((1, 5, 10, 15, 20, 30)), 300
        samples = [
            (10.0 * (i + 1), min(99.0, rng.uniform(0, 20) * (i + 1))) for i in range(rng.randint(1, 6))
        ]
        events = [f"t:{m:g}" for m in MILESTONES if m <= samples[-1][1] or rng.random() < 0.2]
        planned, left = rng.randint(1, 300), rng.uniform(1, 4000)
        wait, armed = variant(
            planned, events, samples, min_wait=min_wait, max_wait=max_wait, seconds_left=left
        )
        assert wait >= planned
        assert wait == planned or wait <= min(max_wait, left)
        assert armed == (wait >= arm_from(min_wait))
