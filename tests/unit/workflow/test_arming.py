"""When the poll arms its wait for a webhook, and how long the wait then is (workflow/arming.py)."""

from __future__ import annotations

import math

import pytest

from aistudios_export.clock import utcnow
from aistudios_export.models import ExportRecord
from aistudios_export.waiting import Sample
from aistudios_export.workflow.arming import (
    STRETCH,
    STRETCH_BELOW,
    arm,
    arm_from,
    webhook_wait,
    webhooks_arriving,
)

pytestmark = pytest.mark.unit

EXPORT_ID = "0" * 32
PROJECT_ID = "65fa6b07dca2e367461a2925"
# Polls of a render below 50, past 50 a poll ago, and past 75 only now
BELOW_50: list[Sample] = [(60.0, 20.0), (120.0, 45.0)]
PAST_50: list[Sample] = [(60.0, 20.0), (120.0, 55.0)]
PAST_75: list[Sample] = [*PAST_50, (180.0, 80.0)]
# ... and one whose 50 was read a poll ago
LATER: list[Sample] = [*PAST_50, (180.0, 65.0)]


def _record(*events: str) -> ExportRecord:
    return ExportRecord(
        EXPORT_ID, PROJECT_ID, "1080", webhook_token_hash="h", webhook_events=frozenset(events)
    )


def _wait(record: ExportRecord, wait: int, samples: list[Sample], **bounds: float) -> tuple[int, bool]:
    bounds = {"max_wait": 180, "seconds_left": 1800} | bounds
    return webhook_wait(record, wait, min_wait=10, settled=False, read_at=utcnow(), samples=samples, **bounds)


def test_no_wait_shorter_than_16_s_is_armed_nor_twice_a_shortest_wait_under_10_s() -> None:
    assert [arm_from(m) for m in (2, 5, 8, 10, 15, 20, 60)] == [4, 10, 16, 16, 16, 16, 16]


def test_while_webhooks_arrive_the_last_short_wait_is_made_long_enough_and_armed() -> None:
    # the render is at 80, its 25, 50 and 75 came: the planner's 10 s before the finish is armed
    wait, armed = _wait(_record("25", "50", "75"), 10, PAST_75)
    assert (wait, armed) == (arm_from(10), True)


def test_below_halfway_the_wait_is_stretched_and_armed() -> None:
    assert (STRETCH, STRETCH_BELOW) == (4, 50)
    assert _wait(_record("25"), 30, BELOW_50) == (120, True)
    assert _wait(_record("25"), 10, BELOW_50) == (64, True)  # four times the 16 s it is raised to
    assert _wait(_record("25"), 60, BELOW_50) == (180, True)  # within the longest wait
    assert _wait(_record("25"), 20, BELOW_50, seconds_left=50) == (50, True)  # and the deadline


def test_from_halfway_the_wait_is_not_stretched_lest_a_lost_100_make_it_late() -> None:
    """A stretched wait that spans the finish is late by its length when the 100's webhook is lost."""
    at_50: list[Sample] = [(60.0, 20.0), (120.0, 50.0)]
    assert _wait(_record("25"), 30, at_50) == (30, True)
    assert _wait(_record("25", "50"), 30, PAST_50) == (30, True)
    assert _wait(_record("25", "50"), 10, PAST_50) == (arm_from(10), True)


def test_a_milestone_passed_a_poll_ago_without_its_webhook_falls_back_to_the_planned_waits() -> None:
    # 50 was passed at the poll before this one, and only the 25 came: webhooks stopped arriving
    assert _wait(_record("25"), 10, LATER) == (10, False)
    assert _wait(_record("25"), 20, LATER) == (20, True)  # a long planned wait is armed as before
    assert _wait(_record("25", "50"), 10, LATER) == (arm_from(10), True)  # had the 50 come
    # none at all, though the render passed 25 and 50
    assert _wait(_record(), 10, LATER) == (10, False)


def test_a_milestone_passed_only_at_this_poll_may_still_be_on_its_way() -> None:
    assert webhooks_arriving({"25", "50"}, PAST_75)  # 75 read only now
    assert not webhooks_arriving({"25", "50"}, [*PAST_75, (240.0, 90.0)])  # 75 read a poll ago
    assert not webhooks_arriving(set(), [(10.0, 1.0)])  # nothing came yet: no evidence


def test_events_taken_under_the_older_key_still_count() -> None:
    assert webhooks_arriving({"task-1:25", "task-1:50"}, PAST_75)
    assert not webhooks_arriving({"not-a-level"}, PAST_50)


def test_a_wait_is_never_raised_past_the_longest_wait_or_the_deadline_to_be_armed() -> None:
    assert _wait(_record("25", "50", "75"), 10, PAST_75, max_wait=15) == (10, False)
    assert _wait(_record("25", "50", "75"), 10, PAST_75, seconds_left=12) == (10, False)


def test_no_receiver_or_a_settled_poll_is_never_armed() -> None:
    no_receiver = ExportRecord(EXPORT_ID, PROJECT_ID, "1080", webhook_events=frozenset({"25"}))
    assert _wait(no_receiver, 10, LATER) == (10, False)
    settled = webhook_wait(
        _record("25", "50"), 10, min_wait=10, settled=True, read_at=utcnow(), samples=PAST_50
    )
    assert settled == (10, False)


def test_arm_is_what_the_poll_and_the_benchmark_call() -> None:
    assert arm(10, ["25", "50", "75"], PAST_75, min_wait=10, max_wait=180, seconds_left=math.inf) == (
        16,
        True,
    )
    assert arm(10, [], PAST_75, min_wait=10, max_wait=180, seconds_left=math.inf) == (10, False)
