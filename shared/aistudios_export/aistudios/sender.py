"""Sending one AI Studios call: attempts with back-off within the call's deadline, and the rule for
what may be tried again (any failed GET; a POST only when it provably was not processed: never
sent, or refused with 429 or 503, which say the service did not take the request)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from ..errors import TransientUpstreamError
from ..observability import logger
from .answers import interpret
from .transport import RetryPolicy, build_session, reached_server

# Answers by which the service says it did not take the request (too many requests; unavailable):
# a POST refused so may be sent again. 500, 502 and 504 say nothing of the kind.
NOT_PROCESSED = frozenset({429, 503})
MAYBE = " (it was sent: AI Studios may have acted on it)"


class Sender:
    def __init__(
        self,
        session: requests.Session,
        timeout: tuple[float, float],
        retry: RetryPolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._session = session
        self._timeout = timeout
        self._retry = retry
        self._clock = clock
        self._sleep = sleep

    def send(self, request: Request, *, deadline: float | None) -> Any:
        """The call's data, attempted up to the policy's attempts before `deadline` (clock seconds)."""
        last: TransientUpstreamError | None = None
        for attempt in range(self._retry.max_attempts):
            read_timeout = self._before_attempt(request, attempt, last, deadline)
            try:
                return self._attempt(request, read_timeout)
            except _TryAgain as again:
                last = again.error
        assert last is not None
        raise last

    def _before_attempt(
        self, request: Request, attempt: int, last: TransientUpstreamError | None, deadline: float | None
    ) -> float:
        """Wait out the back-off before a retry; the attempt's read timeout, cut to the time left.
        Raises the last error (or a budget error) when the deadline leaves no room for an attempt."""
        wait = 0.0 if last is None else self._retry.delay(attempt - 1, last.retry_after)
        connect_timeout, read_timeout = self._timeout
        if deadline is not None:
            remaining = deadline - self._clock() - wait
            if remaining < connect_timeout + 0.5:
                if last is None:
                    raise TransientUpstreamError(
                        f"{request.method} {request.path}: no time left in the call budget"
                    )
                raise last
            read_timeout = min(read_timeout, remaining - connect_timeout)
        if last is not None:
            logger.info(
                "retrying AI Studios call",
                extra={
                    "path": request.path,
                    "attempt": attempt + 1,
                    "wait": round(wait, 3),
                    "reason": last.message,
                },
            )
            self._sleep(wait)
        return read_timeout

    def _attempt(self, request: Request, read_timeout: float) -> Any:
        """One request: its data, _TryAgain when another attempt may follow, or the final error.

        A non-idempotent request (the export POST) goes out on a new connection and is tried again
        only when it provably was not processed (never sent, or refused with 429 or 503). Any other
        answer after it was sent (500, 502, 504, a timeout, a reset) may have started a render."""
        session = self._session if request.idempotent else build_session(pool_size=1)
        try:
            response = session.request(
                request.method,
                request.url,
                json=request.json,
                headers=request.headers,
                timeout=(self._timeout[0], read_timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            sent = reached_server(exc)
            maybe = sent and not request.idempotent
            error = TransientUpstreamError(
                f"{request.method} {request.path} failed: {type(exc).__name__}" + (MAYBE if maybe else ""),
                code="ConnectionError",
                maybe_processed=maybe,
            )
            if request.idempotent or not sent:
                raise _TryAgain(error) from None
            raise error from None
        finally:
            if session is not self._session:
                session.close()
        try:
            return interpret(response, request.method, request.path)
        except TransientUpstreamError as exc:
            refused = response.status_code in NOT_PROCESSED
            exc.maybe_processed = not (request.idempotent or refused)
            if exc.retry_after is not None and exc.retry_after > self._retry.max_retry_after:
                raise
            if not exc.maybe_processed:
                raise _TryAgain(exc) from None
            exc.message += MAYBE
            raise


@dataclass(frozen=True)
class Request:
    """One AI Studios call, as every attempt of it sends it."""

    method: str
    path: str
    url: str
    json: dict[str, Any] | None
    headers: dict[str, str]
    idempotent: bool


class _TryAgain(Exception):
    """The attempt failed in a way another attempt may mend."""

    def __init__(self, error: TransientUpstreamError) -> None:
        super().__init__(error.message)
        self.error = error
