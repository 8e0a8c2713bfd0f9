from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aistudios_export.waiting import (
    APPROACH,
    LANDING_SECONDS,
    LANDING_SLACK,
    NOISE_POINTS,
    Sample,
    keep_samples,
    next_wait,
    next_wait_seconds,
)

pytestmark = pytest.mark.unit

MIN_WAITS = st.sampled_from([10, 15, 20, 30, 45, 60])
MAX_WAITS = st.sampled_from([10, 15, 20, 30, 45, 60, 90, 120, 180, 300])
PROGRESS = st.floats(min_value=0, max_value=100, allow_nan=False)


@pytest.mark.parametrize(
    ("progress", "elapsed", "expected"),
    [(0, 10, 60), (10, 10, 45), (50, 60, 30), (90, 90, 15), (99.9, 300, 15), (100, 5, 15)],
)
def test_next_wait_follows_the_render_rate_within_bounds(
    progress: float, elapsed: float, expected: int
) -> None:
    assert next_wait_seconds(progress, elapsed, 15, 60) == expected


@st.composite
def histories(draw: st.DrawFn) -> list[Sample]:
    """Any polls at all: increasing times, progress anywhere in 0..100, in any order."""
    gaps = draw(st.lists(st.floats(min_value=0.5, max_value=400), max_size=12))
    times = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    return [(t, draw(PROGRESS)) for t in times]


def linear(duration: float, times: list[float], jitter: list[float] | None = None) -> list[Sample]:
    """A render going from 0 to 100 in `duration` seconds, read at `times` (before it ends)."""
    noise = jitter or [0.0] * len(times)
    return [(t, min(99.9, max(0.0, 100 * t / duration + n))) for t, n in zip(times, noise, strict=True)]


def replay(duration: float, min_wait: int, max_wait: int, jitter: float = 0.0) -> tuple[float, list[int]]:
    """Drive a linear render the way the state machine does: (detection lag, the waits)."""
    now, wait, samples, waits = 0.0, min_wait, [], [min_wait]
    while True:
        now += wait
        if now >= duration:
            return now - duration, waits
        sign = 1 if int(now) % 2 else -1
        samples = keep_samples([*samples, *linear(duration, [now], [sign * jitter])])
        wait = next_wait(samples, min_wait=min_wait, max_wait=max_wait, seconds_left=3600 - now)
        waits.append(wait)


@given(histories(), MIN_WAITS, MAX_WAITS, st.floats(min_value=0, max_value=7200))
def test_the_wait_is_a_whole_number_of_seconds_within_the_bounds_and_the_deadline(
    samples: list[Sample], min_wait: int, max_wait: int, seconds_left: float
) -> None:
    wait = next_wait(samples, min_wait=min_wait, max_wait=max_wait, seconds_left=seconds_left)
    assert isinstance(wait, int)
    assert wait >= 1
    if seconds_left >= 1:
        assert wait <= seconds_left  # never past the deadline
    if seconds_left >= max(min_wait, max_wait):
        assert min(min_wait, max_wait) <= wait <= max(min_wait, max_wait)


@given(histories(), MIN_WAITS, MAX_WAITS, st.floats(min_value=-60, max_value=60))
def test_close_to_or_past_the_deadline_the_last_poll_lands_on_it(
    samples: list[Sample], min_wait: int, max_wait: int, seconds_left: float
) -> None:
    wait = next_wait(samples, min_wait=min_wait, max_wait=max_wait, seconds_left=seconds_left)
    if seconds_left < min_wait:
        assert wait == max(1, math.floor(seconds_left))


@given(MIN_WAITS, MAX_WAITS)
def test_before_the_first_poll_it_waits_the_minimum(min_wait: int, max_wait: int) -> None:
    assert next_wait([], min_wait=min_wait, max_wait=max_wait, seconds_left=3600) == min_wait


@given(MIN_WAITS, st.floats(min_value=0, max_value=3000), st.floats(min_value=0, max_value=99.9))
def test_an_unproven_100_is_polled_again_soon(min_wait: int, at: float, before: float) -> None:
    samples = [(at, before), (at + 30, 100.0)]
    assert next_wait(samples, min_wait=min_wait, max_wait=300, seconds_left=3600) == min_wait


@given(
    st.floats(min_value=0.05, max_value=1.5),  # points per second before the stall
    st.floats(min_value=30, max_value=97),  # where it stalls
    st.integers(min_value=1, max_value=30),  # polls during the stall
    MIN_WAITS,
)
def test_a_stall_is_watched_as_if_it_could_resume_at_full_speed(
    rate: float, stalled_at: float, stalled_polls: int, min_wait: int
) -> None:
    moving = [(t, rate * t) for t in (stalled_at / rate * f for f in (0.25, 0.5, 0.75, 1.0))]
    t_stall = moving[-1][0]
    samples = keep_samples([*moving, *((t_stall + 20 * i, stalled_at) for i in range(1, stalled_polls + 1))])
    wait = next_wait(samples, min_wait=min_wait, max_wait=300, seconds_left=3600)
    step = stalled_at / 4  # points per step before the stall, discounted by the jitter allowance
    resumed = (100 - stalled_at) / (rate * (step - NOISE_POINTS) / step)  # if it resumes now
    # +1: keep_samples rounds times to 0.1 s and progress to 0.01 point
    assert wait <= max(min_wait, math.ceil(resumed * (1 + LANDING_SLACK) + LANDING_SECONDS) + 1)


@given(
    st.floats(min_value=0.1, max_value=1.5),  # points per second
    st.floats(min_value=20, max_value=99),  # progress before the drop
    st.floats(min_value=0, max_value=0.8),  # fraction it falls back to
    MIN_WAITS,
)
def test_progress_going_backwards_is_a_re_render_at_the_same_pace(
    rate: float, before: float, back_to: float, min_wait: int
) -> None:
    dropped = before * back_to
    if before - dropped <= 5:
        return  # within noise: not a regression
    steps = [before * f for f in (0.25, 0.5, 0.75, 1.0)]
    samples = [(p / rate, p) for p in steps] + [(before / rate + 30, dropped)]
    wait = next_wait(keep_samples(samples), min_wait=min_wait, max_wait=300, seconds_left=3600)
    remaining = (100 - dropped) / rate  # the re-render at the old pace, not the abandoned render
    assert wait <= max(min_wait, math.ceil(remaining * (1 + LANDING_SLACK) + LANDING_SECONDS) + 1)
    assert wait >= min(min_wait, 300)


@settings(max_examples=60)
@given(st.floats(min_value=60, max_value=720), st.floats(min_value=0, max_value=1), MIN_WAITS, MAX_WAITS)
def test_noise_does_not_make_it_miss_the_end_by_much(
    duration: float, jitter: float, min_wait: int, max_wait: int
) -> None:
    max_wait = max(min_wait, max_wait)
    lag, _ = replay(duration, min_wait, max_wait, jitter)
    assert lag <= min_wait + 0.1 * max_wait + 5


@settings(max_examples=60)
@given(st.floats(min_value=60, max_value=720), MIN_WAITS, st.sampled_from([60, 90, 120, 180, 300]))
def test_waits_shrink_as_a_clean_linear_render_nears_its_end(
    duration: float, min_wait: int, max_wait: int
) -> None:
    """Past the early polls, the wait never exceeds the time left (within 10% + 2 s), and
    along a whole render it only grows back once: from the close approach poll to the landing."""
    max_wait = max(min_wait, max_wait)
    times = [duration * f for f in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)]
    previous = math.inf
    raised = 0
    for i in range(2, len(times)):
        samples = keep_samples(linear(duration, times[: i + 1]))
        wait = next_wait(samples, min_wait=min_wait, max_wait=max_wait, seconds_left=3600)
        left = duration - times[i]
        assert wait <= max(min_wait, math.ceil(left * 1.1 + LANDING_SECONDS) + 2)
        if wait > previous + 1:
            raised += 1
            assert wait - previous <= APPROACH * min_wait + 1 + left * LANDING_SLACK
        previous = wait
    assert raised <= 1
    lag, waits = replay(duration, min_wait, max_wait)
    assert lag <= min_wait + 5
    assert waits[-1] <= max(waits)


def test_samples_stay_bounded_whatever_the_render_length() -> None:
    samples: list[Sample] = []
    for i in range(1, 5000):
        samples = keep_samples([*samples, (10.0 * i, min(99.9, i / 50))])
        assert len(samples) <= 6
    assert samples[-1] == (49990.0, 99.9)


def test_a_stall_keeps_the_samples_that_show_the_pace() -> None:
    moving = [(10.0, 5.0), (70.0, 35.0), (130.0, 65.0)]
    stall = [(130.0 + 30 * i, 65.2) for i in range(1, 20)]
    kept = keep_samples([*moving, *stall])
    assert kept[:3] == moving
    assert kept[-1] == (700.0, 65.2)
