"""Signatures on the webhook events forwarded to a caller's own webhookUrl.

`X-AIStudios-Export-Signature: t=<unix seconds>,v1=<hex>` where the hex is HMAC-SHA256, keyed with
the stack's signing secret, over `<t>.` followed by the raw request body. Signing the timestamp with
the body lets a receiver refuse an old request replayed as it was (`TOLERANCE_SECONDS`); the event
id header is the same on every retry of one event, so a receiver can also drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-AIStudios-Export-Signature"
EVENT_ID_HEADER = "X-AIStudios-Export-Event-Id"
SCHEME = "v1"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>`."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, now: float | None = None) -> str:
    """The header value for `body`, signed at `now` (epoch seconds; the current time by default)."""
    timestamp = int(time.time() if now is None else now)
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: the header parses, its time is within `tolerance` of `now`, and one of
    its `v1` signatures matches (compared in constant time). Several `v1` entries may be present."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
