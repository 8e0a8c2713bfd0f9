from __future__ import annotations

import pytest

from aistudios_export.waiting import next_wait_seconds

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("progress", "elapsed", "expected"),
    [(0, 10, 60), (10, 10, 45), (50, 60, 30), (90, 90, 15), (99.9, 300, 15), (100, 5, 15)],
)
def test_next_wait_follows_the_render_rate_within_bounds(
    progress: float, elapsed: float, expected: int
) -> None:
    assert next_wait_seconds(progress, elapsed, 15, 60) == expected
