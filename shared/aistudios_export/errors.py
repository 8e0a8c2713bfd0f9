"""Domain errors, in one place: the classes the state machine's Retry and Catch rules match, the
"[code] message" format, and validation errors as callers see them (each names the field as the
caller spelled it, escaped where that is unsafe to echo). Free of pydantic, so that a handler can
raise and answer them without importing the validation machinery (see `make bench-coldstart`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .models import METADATA_KEY, METADATA_VALUE, NAME, OBJECT_ID

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
    """The request conflicts with what the system is already doing; the API answers `status`, and
    `field` when one is at fault."""

    code = "Conflict"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int = 409,
        retry_after: float | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.retry_after = retry_after
        self.field = field


class ProjectBusyError(ConflictError):
    """AI Studios tracks progress per project: one export of a project at a time."""

    code = "ProjectBusy"

    def __init__(self, project_id: str, active_export_id: str) -> None:
        super().__init__(f"project {project_id} already has an active export ({active_export_id})")
        self.project_id = project_id
        self.active_export_id = active_export_id


# -- validation errors, as callers see them --------------------------------------------------------

# What a pattern means, for the error message of a value that does not match it.
PATTERN_MEANINGS = {
    OBJECT_ID.pattern: "a 24-character hexadecimal ObjectId",
    NAME.pattern: "1 to 100 ASCII letters, digits, spaces, '.', '_' or '-', starting and ending with a "
    "letter or digit",
    METADATA_KEY.pattern: "1 to 40 lowercase letters, digits or '-', starting with a letter or digit",
    METADATA_VALUE.pattern: "at most 256 printable ASCII characters",
}
_KEY = "[key]"  # pydantic's location of a mapping's key, after the key
FIELD_NAME_CHARS = 64  # of a key echoed in a field name: more than any field or metadata key takes
# Where Powertools' request validation found an error, as the first element of its location.
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


class RequestValidationError(ValueError):
    """A request failed validation; `errors` name each field and what is wrong."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


def invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"field": field, "message": message}])


def describe(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Pydantic's errors (or Powertools' request validation errors, located in the body, the query
    string or a header) as {"field", "message"}: the field as the caller spelled it."""
    return [{"field": _field(err["loc"]), "message": _message(err)} for err in errors]


def field_name(names: Iterable[str]) -> str:
    """The field at `names` (keys the caller sent, outermost first), safe to echo: each key's
    backslashes and unprintable characters escaped as JSON escapes them (a line break as `\\n`, so a
    log line or message stays one line and the key can still be told), and a key longer than
    FIELD_NAME_CHARS cut there and marked `...`."""
    return ".".join(_echoed(name) for name in names)


def _echoed(name: str) -> str:
    shown = "".join(
        c if c.isprintable() and c != "\\" else json.dumps(c)[1:-1] for c in name[:FIELD_NAME_CHARS]
    )
    return shown + "..." if len(name) > FIELD_NAME_CHARS else shown


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [p for p in loc if p != _KEY]  # a mapping's key: the field is the entry it names
    where = parts.pop(0) if parts and parts[0] in _LOCATIONS else "body"
    names = [field_name([p]) for p in parts if isinstance(p, str)]  # integers: positions in the JSON
    if not names:
        return "body"
    if where == "header":  # Powertools lowercases header names
        return "-".join(word.capitalize() for word in names[-1].split("-"))
    return ".".join(names)


def _message(err: Mapping[str, Any]) -> str:
    if tuple(err["loc"])[-1:] == (_KEY,):
        return "is not a valid key: " + _message({**err, "loc": tuple(err["loc"])[:-1]})
    kind, ctx = str(err["type"]), err.get("ctx") or {}
    if kind == "missing":
        return "is required (a JSON object)" if _field(err["loc"]) == "body" else "is required"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"must be one of {expected}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return (
            f"must be {PATTERN_MEANINGS[pattern]}" if pattern in PATTERN_MEANINGS else f"must match {pattern}"
        )
    simple = {
        "extra_forbidden": "is not a recognised field",
        "string_type": "must be a string",
        "int_parsing": "must be an integer",
        "int_type": "must be an integer",
        "json_invalid": "must be valid JSON",
        "model_attributes_type": "must be a JSON object",
        "model_type": "must be a JSON object",
        "dict_type": "must be a JSON object",
        "less_than_equal": f"must be at most {ctx.get('le')}",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
        "string_too_long": f"must be at most {ctx.get('max_length')} characters",
        "string_too_short": f"must be at least {ctx.get('min_length')} character(s)",
        "too_long": f"must have at most {ctx.get('max_length')} entries",
    }
    if kind in simple:
        return simple[kind]
    return str(err.get("msg", "is invalid")).removeprefix("Value error, ")
