"""Domain errors. Their class names are matched by the state machine's Retry and Catch rules."""

from __future__ import annotations

import re

# The one format for "[code] message" strings: Lambda reports str(exc) as errorMessage, and the
# failure path reads the code back out of it.
_CODED = re.compile(r"^\[(?P<code>[A-Za-z0-9_.:-]{1,64})\] (?P<message>.*)$", re.S)


def format_coded(code: str, message: str) -> str:
    return f"[{code}] {message}"


def parse_coded(text: str) -> tuple[str, str] | None:
    """(code, message) from a "[code] message" string, or None when it has no code."""
    match = _CODED.match(text)
    return (match["code"], match["message"]) if match else None


class ExportPipelineError(Exception):
    """Base class of every error this package raises on purpose."""

    code: str = "ExportPipelineError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return format_coded(self.code, self.message)


class TransientUpstreamError(ExportPipelineError):
    """Worth retrying: timeouts, connection failures, 429 and 5xx from AI Studios or its CDN.

    `maybe_processed` is True when a non-idempotent request reached AI Studios and may have been
    acted on (a 5xx or a connection lost after sending): the export may be rendering anyway."""

    code = "TransientUpstreamError"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        maybe_processed: bool = False,
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.maybe_processed = maybe_processed


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


class ConflictError(ExportPipelineError):
    """The request conflicts with what the system is already doing; the API answers `status`."""

    code = "Conflict"

    def __init__(
        self, message: str, *, code: str | None = None, status: int = 409, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.retry_after = retry_after


class ProjectBusyError(ConflictError):
    """AI Studios tracks progress per project: one export of a project at a time."""

    code = "ProjectBusy"

    def __init__(self, project_id: str, active_export_id: str) -> None:
        super().__init__(f"project {project_id} already has an active export ({active_export_id})")
        self.project_id = project_id
        self.active_export_id = active_export_id
