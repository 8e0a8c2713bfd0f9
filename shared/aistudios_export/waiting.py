"""How long the state machine waits before its next progress poll."""

from __future__ import annotations

import math


def next_wait_seconds(progress: float, elapsed: float, minimum: float, maximum: float) -> int:
    """Wait about half the remaining render time estimated from the rate so far, within bounds."""
    if progress <= 0 or elapsed <= 0:
        estimate = maximum
    elif progress >= 100:
        estimate = minimum
    else:
        estimate = elapsed * (100 - progress) / progress / 2
    return max(1, math.ceil(min(maximum, max(minimum, estimate))))
