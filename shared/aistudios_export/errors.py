"""Domain errors. Their class names are matched by the state machine's Retry and Catch rules."""

from __future__ import annotations


class ExportPipelineError(Exception):
    """Base class of every error this package raises on purpose."""

    code: str = "ExportPipelineError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        # Lambda reports str(exc) as errorMessage; keep the upstream code recoverable from it.
        return f"[{self.code}] {self.message}"


class TransientUpstreamError(ExportPipelineError):
    """Worth retrying: timeouts, connection failures, 429 and 5xx from AI Studios or its CDN."""

    code = "TransientUpstreamError"

    def __init__(self, message: str, *, code: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PermanentUpstreamError(ExportPipelineError):
    """Retrying will not help: bad request, unknown project, credentials rejected after a refresh."""

    code = "PermanentUpstreamError"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status


class UnsafeUrlError(PermanentUpstreamError):
    """A URL the system was asked to fetch failed validation."""

    code = "UnsafeUrl"


class DeliveryVerificationError(TransientUpstreamError):
    """The bytes stored in S3 do not match what the source sent (size or checksum)."""

    code = "DeliveryVerificationFailed"


class ConfigurationError(ExportPipelineError):
    """A required setting is missing or malformed; raised at cold start."""

    code = "ConfigurationError"


class ExportNotFoundError(ExportPipelineError):
    code = "ExportNotFound"


class InvalidTransitionError(ExportPipelineError):
    """The export is already in a final state; the update was not applied."""

    code = "InvalidTransition"
