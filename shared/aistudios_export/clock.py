"""Time as the system writes it: RFC 3339 UTC strings, one format for records and one for Step Functions."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

STARTED = time.monotonic()
"""When this process first imported the layer: the start of its Lambda init phase, to within the
runtime's own start-up."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Millisecond RFC 3339 UTC with a Z, the form stored in records and sent in notifications."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_seconds(moment: datetime) -> str:
    """Whole-second RFC 3339 UTC, the timestamp form every Step Functions engine compares."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    return iso(utcnow())


def parse_iso(value: str) -> datetime:
    """Either form above (or any ISO 8601 with an offset) back into an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def seconds_between(start: str, end: str | None) -> float | None:
    """Seconds from `start` to `end`, or None when `end` is missing or either is unreadable."""
    if not end:
        return None
    try:
        return round((parse_iso(end) - parse_iso(start)).total_seconds(), 3)
    except ValueError:
        return None


def answer_deadline(lambda_context: Any, reserve_seconds: float) -> float | None:
    """When (time.monotonic() seconds) a call must be over so that the invocation still ends in
    time: the function's remaining time less `reserve_seconds` for what follows the call. None
    outside Lambda (no context): no bound."""
    if lambda_context is None:
        return None
    remaining = float(lambda_context.get_remaining_time_in_millis()) / 1000
    return time.monotonic() + remaining - reserve_seconds
