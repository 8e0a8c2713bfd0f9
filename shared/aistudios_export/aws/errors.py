"""AWS errors as the domain sees them: the code an AWS error carries, and which ones are worth
retrying (the state machine retries TransientUpstreamError)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import TransientUpstreamError
from ..observability import logger

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


def condition_held(write: Callable[..., object], **request: Any) -> bool:
    """Make a conditional write (`write(**request)`): True when it was made, False when its
    condition did not hold; any other error is raised."""
    try:
        write(**request)
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        return False
    return True


def error_code(exc: BaseException | None) -> str:
    """The code of an AWS error (`ConditionalCheckFailedException`, `NoSuchKey`, ...); "" for others."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str((response.get("Error") or {}).get("Code") or "")


def is_transient(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return error_code(exc) in RETRYABLE_AWS_CODES or status >= 500


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
            name = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
            # the caller only sees "AWS call failed": the log names the call and why (AccessDenied, ...)
            logger.warning(
                "AWS call failed", extra={"error": name, "call": getattr(exc, "operation_name", "")}
            )
            raise TransientUpstreamError(
                f"AWS call failed: {name}", code="AwsServiceError", retry_after=retry_after
            ) from None

    return cast(_F, wrapper)
