"""Forwarding confirmed webhook events to the caller's own webhookUrl: signed, under the URL policy
every fetch obeys (validated, resolved once, connected to that address), a few bounded attempts.

Best effort by design: whatever the caller's endpoint does, the export is not affected, and a
failure is logged (without the URL's query string) and forgotten.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from .. import strict_json
from ..aws.secrets import read_secret
from ..errors import ExportPipelineError, UnsafeUrlError
from ..net.pinned import pinned_session
from ..net.urls import SafeTarget, redact_url, resolve_target
from ..observability import logger
from ..settings import Settings
from .signing import EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header

ATTEMPTS = 3
BACKOFF_SECONDS = (0.5, 1.0)
TIMEOUT = (2.0, 3.0)  # connect, read: an endpoint slower than that is treated as down
BUDGET_SECONDS = 12.0  # all attempts together, so the receiver answers AI Studios in time
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

    Connection errors, timeouts, 408/425/429 and 5xx are tried again (up to `attempts` in all,
    within `budget_seconds`); any other answer, a redirect included, is final. Each attempt is
    signed afresh (its own timestamp) and carries the event's id, the same on every attempt.
    """
    prepared = _prepare(url, event, local_origin)
    if prepared is None:
        return False
    target, body = prepared
    deadline = clock() + budget_seconds
    reason = "no attempt made"
    session, pins = pinned_session()
    pins.pin(target)
    with session:
        for attempt in range(attempts):
            if attempt:
                pause = BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)]
                if clock() + pause + sum(TIMEOUT) > deadline:
                    break
                sleep(pause)
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature_header(secret, body),
                EVENT_ID_HEADER: str(event.get("eventId", "")),
            }
            try:
                response = session.post(
                    url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
                )
            except requests.RequestException as exc:
                reason = type(exc).__name__
                continue
            with response:
                status = response.status_code
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
