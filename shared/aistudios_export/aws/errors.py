"""Which AWS errors are worth retrying: the state machine retries TransientUpstreamError."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import TransientUpstreamError

RETRYABLE_AWS_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "RequestTimeout",
        "TransactionConflictException",
    }
)
_F = TypeVar("_F", bound=Callable[..., Any])


def is_transient(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return error.get("Code") in RETRYABLE_AWS_CODES or status >= 500


def transient_aws_errors(func: _F) -> _F:
    """AWS throttling, 5xx and connection errors become TransientUpstreamError, which the state
    machine retries; other AWS errors stay as they are (they are bugs or permissions)."""
    return _as_transient(func, every=False)


def aws_errors_unavailable(func: _F) -> _F:
    """Every AWS error becomes TransientUpstreamError (the API answers 503 with Retry-After): for the
    synchronous start of an export, where the caller can only retry, never a 500."""
    return _as_transient(func, every=True, retry_after=5)


def _as_transient(func: _F, *, every: bool, retry_after: float | None = None) -> _F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and not (every or is_transient(exc)):
                raise
            name = (
                exc.response.get("Error", {}).get("Code")
                if isinstance(exc, ClientError)
                else type(exc).__name__
            )
            raise TransientUpstreamError(
                f"AWS call failed: {name}", code="AwsServiceError", retry_after=retry_after
            ) from None

    return cast(_F, wrapper)
