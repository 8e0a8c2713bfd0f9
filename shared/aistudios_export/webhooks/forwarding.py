"""Forwarding confirmed webhook events to the caller's own webhookUrl: signed, under the URL policy
every fetch obeys (validated, resolved once, connected to that address), a few attempts, all of
them within one budget that no endpoint can stretch: each exchange is bounded as a whole and the
answer's body is never read (net/exchange.py), so the receiver always answers AI Studios in time.

Best effort by design: whatever the caller's endpoint does, the export is not affected, and a
failure is logged (without the URL's query string) and forgotten.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from typing import Any

from .. import strict_json
from ..aws.secrets import read_secret
from ..errors import ExportPipelineError, UnsafeUrlError
from ..net import exchange
from ..net.urls import SafeTarget, redact_url, resolve_target
from ..observability import logger
from ..settings import Settings
from .signing import EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header

ATTEMPTS = 3
BACKOFF_SECONDS = (0.5, 1.0)
CONNECT_SECONDS = 2.0
ATTEMPT_SECONDS = 5.0  # one whole exchange: an endpoint slower than that is treated as down
MIN_ATTEMPT_SECONDS = 1.0  # less than this left in the budget: no further attempt
BUDGET_SECONDS = 12.0  # all attempts and pauses together, so the receiver answers AI Studios in time
RETRIED_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))


def signing_secret(settings: Settings) -> str:
    """The stack's signing secret (a plain string in Secrets Manager), cached for a few minutes."""
    value: Any = read_secret(settings, settings.webhook_secret_id)
    secret = value.decode() if isinstance(value, bytes) else str(value)
    if len(secret) < 32:
        raise ExportPipelineError(
            "the webhook signing secret is shorter than 32 characters", code="WeakSecret"
        )
    return secret


def forward_event(
    url: str,
    event: dict[str, Any],
    secret: str,
    *,
    local_origin: str | None = None,
    attempts: int = ATTEMPTS,
    budget_seconds: float = BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST `event` as JSON to `url`, signed; True once the endpoint answers 2xx.

    Connection errors, timeouts, 408/425/429 and 5xx are tried again (up to `attempts` in all);
    any other answer, a redirect included, is final. Every attempt and pause ends within
    `budget_seconds` of the call, whatever the endpoint does. Each attempt is signed afresh (its
    own timestamp) and carries the event's id, the same on every attempt.
    """
    prepared = _prepare(url, event, local_origin)
    if prepared is None:
        return False
    target, body = prepared
    deadline = clock() + budget_seconds
    reason = "no attempt made"
    for attempt in range(attempts):
        if attempt:
            pause = BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)]
            if deadline - clock() - pause < MIN_ATTEMPT_SECONDS:
                break
            sleep(pause)
        seconds = min(ATTEMPT_SECONDS, deadline - clock())
        if seconds < MIN_ATTEMPT_SECONDS and attempt:
            break
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "aistudios-export/0.1",
            SIGNATURE_HEADER: signature_header(secret, body),
            EVENT_ID_HEADER: str(event.get("eventId", "")),
        }
        try:
            status = exchange.post(target, body, headers, seconds=seconds, connect_timeout=CONNECT_SECONDS)
        except (OSError, http.client.HTTPException) as exc:
            reason = type(exc).__name__
            continue
        if 200 <= status < 300:
            logger.info("webhook event forwarded", extra={"url": redact_url(url), "attempt": attempt + 1})
            return True
        reason = f"HTTP {status}"
        if status not in RETRIED_STATUSES:
            break
    logger.warning("webhook event not forwarded", extra={"url": redact_url(url), "reason": reason})
    return False


def _prepare(url: str, event: dict[str, Any], local_origin: str | None) -> tuple[SafeTarget, bytes] | None:
    """Where to send and what: the URL under the URL policy, the event as strict JSON; None (logged)
    when either is refused."""
    try:
        target = resolve_target(url, local_origin=local_origin)
    except UnsafeUrlError as exc:
        logger.warning(
            "webhook not forwarded: URL refused", extra={"url": redact_url(url), "reason": exc.message}
        )
        return None
    try:
        body = strict_json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    except ValueError:  # a NaN or Infinity: the receiver reads strictly, so only a bug gets here
        logger.error("webhook event not forwarded: not valid JSON", extra={"url": redact_url(url)})
        return None
    return target, body
