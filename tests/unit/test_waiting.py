from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aistudios_export.waiting import (
    GROWTH,
    REGRESSION_POINTS,
    SAMPLE_LIMIT,
    Sample,
    forecast,
    keep_samples,
    next_wait,
)

pytestmark = pytest.mark.unit

MIN_WAITS = st.sampled_from([10, 15, 20, 30, 45, 60])
MAX_WAITS = st.sampled_from([10, 15, 20, 30, 45, 60, 90, 120, 180, 300])
PROGRESS = st.floats(min_value=0, max_value=100, allow_nan=False)
SHAPES = st.sampled_from([0.5, 1.0, 2.0])  # fast start, linear, slow start
DURATIONS = st.floats(min_value=60, max_value=720)
HOUR = 3600.0


@st.composite
def histories(draw: st.DrawFn) -> list[Sample]:
    """Any polls at all: increasing times, progress anywhere in 0..100, in any order."""
    gaps = draw(st.lists(st.floats(min_value=0.5, max_value=400), max_size=12))
    times = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    return [(t, draw(PROGRESS)) for t in times]


def reading(duration: float, shape: float, t: float, jitter: float = 0.0) -> Sample:
    """What a render of `duration` seconds, progress 100 * (t / duration) ** shape, reads at t
    (before it ends), off by `jitter` points."""
    return t, min(99.9, max(0.0, 100 * (t / duration) ** shape + jitter))


def replay(
    duration: float, shape: float, min_wait: int, max_wait: int, jitter: float = 0.0
) -> tuple[float, list[int]]:
    """Drive a render the way the state machine does, each reading off by +-jitter in turn:
    (detection lag, the waits)."""
    now, wait, waits = 0.0, min_wait, [min_wait]
    samples: list[Sample] = []
    while True:
        now += wait
        if now >= duration:
            return now - duration, waits
        sign = 1 if len(waits) % 2 else -1
        samples = keep_samples([*samples, reading(duration, shape, now, sign * jitter)])
        wait = next_wait(samples, min_wait=min_wait, max_wait=max_wait, seconds_left=HOUR - now)
        waits.append(wait)


# -- bounds ---------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
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
    if samples and seconds_left >= min_wait:
        assert wait <= max(min_wait, GROWTH * samples[-1][0])  # early samples say little


@settings(deadline=None)
@given(histories(), MIN_WAITS, MAX_WAITS, st.floats(min_value=-60, max_value=60))
def test_close_to_or_past_the_deadline_the_last_poll_lands_on_it(
    samples: list[Sample], min_wait: int, max_wait: int, seconds_left: float
) -> None:
    wait = next_wait(samples, min_wait=min_wait, max_wait=max_wait, seconds_left=seconds_left)
    if seconds_left < min_wait:
        assert wait == max(1, math.floor(seconds_left))


@given(MIN_WAITS, MAX_WAITS)
def test_before_the_first_poll_it_waits_the_minimum(min_wait: int, max_wait: int) -> None:
    assert next_wait([], min_wait=min_wait, max_wait=max_wait, seconds_left=HOUR) == min_wait


@given(MIN_WAITS, st.floats(min_value=0, max_value=3000), st.floats(min_value=0, max_value=99.9))
def test_an_unproven_100_is_polled_again_soon(min_wait: int, at: float, before: float) -> None:
    samples = [(at, before), (at + 30, 100.0)]
    assert next_wait(samples, min_wait=min_wait, max_wait=300, seconds_left=HOUR) == min_wait


@given(MIN_WAITS, MAX_WAITS, st.integers(min_value=1, max_value=6))
def test_a_render_that_has_not_started_is_polled_at_the_longest_wait(
    min_wait: int, max_wait: int, polls: int
) -> None:
    samples = keep_samples([(600.0 + 60 * i, 0.0) for i in range(polls)])
    wait = next_wait(samples, min_wait=min_wait, max_wait=max_wait, seconds_left=HOUR)
    assert wait == max(min_wait, max_wait)


# -- the forecast and the waits as the end nears --------------------------------------------------


def past_the_finish(left: float, min_wait: int) -> float:
    """How long a wait may be for a finish `left` seconds away: no poll comes before `min_wait`;
    one too early costs a whole `min_wait`, so the longer that is the later the aim; and a forecast
    errs by some 15%."""
    return max(min_wait, left) + max(0.15 * left, min_wait / 2) + 2


@settings(deadline=None)
@given(st.floats(min_value=240, max_value=720), SHAPES, st.sampled_from([0.5, 0.7, 0.85]))
def test_the_forecast_follows_the_shape_of_the_render(duration: float, shape: float, seen: float) -> None:
    """Linear, slow-start or fast-start: a few samples tell when it reaches 100 (a straight line
    through the last two would be 50% late half way through a slow start)."""
    samples = keep_samples([reading(duration, shape, duration * seen * f) for f in (0.25, 0.5, 0.75, 1.0)])
    left = duration - samples[-1][0]
    assert statistics.median(forecast(samples)) == pytest.approx(left, rel=0.2)


@settings(max_examples=60, deadline=None)
@given(DURATIONS, SHAPES, MIN_WAITS, st.sampled_from([60, 90, 120, 180, 300]))
def test_waits_shrink_as_the_render_nears_its_end(
    duration: float, shape: float, min_wait: int, max_wait: int
) -> None:
    """Once the samples show the render's shape, no wait goes far past the finish: the waits
    shrink with the time left, down to the shortest."""
    max_wait = max(min_wait, max_wait)
    fractions = (0.1, 0.3, 0.5, 0.7, 0.85, 0.93, 0.97, 0.99)
    waits = []
    for i in range(2, len(fractions)):
        samples = keep_samples([reading(duration, shape, duration * f) for f in fractions[: i + 1]])
        waits.append(next_wait(samples, min_wait=min_wait, max_wait=max_wait, seconds_left=HOUR))
        assert waits[-1] <= past_the_finish(duration * (1 - fractions[i]), min_wait)


@settings(max_examples=40, deadline=None)
@given(
    DURATIONS, SHAPES, st.floats(min_value=0, max_value=1), MIN_WAITS, st.sampled_from([60, 120, 180, 300])
)
def test_noisy_readings_do_not_make_it_miss_the_end_by_much(
    duration: float, shape: float, jitter: float, min_wait: int, max_wait: int
) -> None:
    max_wait = max(min_wait, max_wait)
    lag, waits = replay(duration, shape, min_wait, max_wait, jitter)
    assert lag <= min_wait + 0.05 * duration + 3
    # long waits while the end is far, a few near it (no wait past 0.8 x the time left at the
    # latest pace may add one: 9 polls past the long ones, against 8 before it)
    assert len(waits) <= duration / max_wait + 9


# -- stalls and regressions --------------------------------------------------------------------------


@settings(deadline=None)
@given(
    st.floats(min_value=0.05, max_value=1.5),  # points per second before the stall
    st.floats(min_value=30, max_value=97),  # where it stalls
    st.integers(min_value=1, max_value=30),  # polls during the stall, 20 s apart
    MIN_WAITS,
)
def test_a_stall_is_watched_as_if_it_could_resume_at_once(
    rate: float, stalled_at: float, stalled_polls: int, min_wait: int
) -> None:
    moving = [(t, rate * t) for t in (stalled_at / rate * f for f in (0.25, 0.5, 0.75, 1.0))]
    t_stall = moving[-1][0]
    samples = keep_samples([*moving, *((t_stall + 20 * i, stalled_at) for i in range(1, stalled_polls + 1))])
    wait = next_wait(samples, min_wait=min_wait, max_wait=300, seconds_left=HOUR)
    resumed = (100 - stalled_at) / rate  # if it went on now at its pace before the stall
    assert wait <= past_the_finish(resumed, min_wait)


@settings(deadline=None)
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
    if before - dropped <= REGRESSION_POINTS:
        return  # within noise: not a regression
    samples = [(p / rate, p) for p in (before * f for f in (0.25, 0.5, 0.75, 1.0))]
    samples.append((before / rate + 30, dropped))
    wait = next_wait(keep_samples(samples), min_wait=min_wait, max_wait=300, seconds_left=HOUR)
    remaining = (100 - dropped) / rate  # the re-render at the old pace, not the abandoned render
    assert min_wait <= wait <= past_the_finish(remaining, min_wait)


@pytest.mark.parametrize("times", [[100, 200, 300], [60, 150, 240, 300], [150, 250, 320]])
def test_a_render_speeding_up_is_not_waited_out_past_its_end(times: list[float]) -> None:
    """Progress growing exponentially (ending at 400 s): no power-law fit follows it, and the wait
    the fits plan lands 40-55 s late; bounded by its latest pace, still growing, within a minimum."""

    def progress(t: float) -> float:
        return round(100 * math.expm1(4 * t / 400) / math.expm1(4), 2)

    samples = [(t, progress(t)) for t in times]
    wait = next_wait(samples, min_wait=10, max_wait=180, seconds_left=HOUR)
    left = 400 - times[-1]
    assert left / 2 <= wait <= left + 10


# -- the samples kept -------------------------------------------------------------------------------


def test_samples_stay_bounded_whatever_the_render_length() -> None:
    samples: list[Sample] = []
    for i in range(1, 5000):
        samples = keep_samples([*samples, (10.0 * i, min(99.9, i / 50))])
        assert len(samples) <= SAMPLE_LIMIT
    assert samples[-1] == (49990.0, 99.9)


def test_a_stall_keeps_the_samples_that_show_the_pace() -> None:
    moving = [(10.0, 5.0), (70.0, 35.0), (130.0, 65.0)]
    stall = [(130.0 + 30 * i, 65.2) for i in range(1, 20)]
    kept = keep_samples([*moving, *stall])
    assert kept[:3] == moving
    assert kept[-1] == (700.0, 65.2)
