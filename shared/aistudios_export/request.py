"""The request model shared by every trigger, and its field-by-field validation errors."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import UnsafeUrlError
from .models import OBJECT_ID, RESOLUTIONS, Resolution
from .settings import Settings
from .urls import validate_url

# What a pattern means, for the error message of a value that does not match it.
PATTERN_MEANINGS = {OBJECT_ID.pattern: "a 24-character hexadecimal ObjectId"}
# Where Powertools' request validation found an error, as the first element of its location.
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


class ExportRequest(BaseModel):
    """What a caller asks for, whichever trigger it came through.

    `resolution` stays None when the caller names none, so the deployment's DefaultResolution applies.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    projectId: str = Field(pattern=OBJECT_ID.pattern, description="24-hex ObjectId of the AI Studios project")
    workspaceId: str | None = Field(default=None, min_length=1, max_length=128)
    resolution: Resolution | None = Field(
        default=None,
        description="the deployment's DefaultResolution when absent (1080p and 2160 are accepted)",
    )
    webhookUrl: str | None = Field(
        default=None, max_length=2048, description="https URL AI Studios calls when the render ends"
    )

    @field_validator("projectId")
    @classmethod
    def _object_id(cls, value: str) -> str:
        return value.lower()

    @field_validator("resolution", mode="before")
    @classmethod
    def _resolution(cls, value: Any) -> Any:
        if isinstance(value, int):
            value = str(value)
        if isinstance(value, str):
            value = value.strip().lower()
            if value in ("4k", "2160", "2160p"):
                return "4k"
            if value.endswith("p") and value[:-1] in RESOLUTIONS:
                return value[:-1]
            if value not in RESOLUTIONS:
                raise ValueError(f"must be one of {', '.join(RESOLUTIONS)}")
        return value

    @field_validator("webhookUrl")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        """The URL policy (https, a public host); plain http only to a local stack's one origin."""
        if value is None:
            return None
        try:
            validate_url(value, local_origin=_local_origin(), resolve=False)
        except UnsafeUrlError as exc:
            raise ValueError(exc.message) from None
        return value


def _local_origin() -> str | None:
    """The one plain-http origin of a local stack (LOCAL_HTTP_ORIGIN, never set on AWS): its
    simulator, which there also plays a caller's own webhook endpoint (see webhooks.py)."""
    return os.environ.get(Settings.env_name("local_http_origin")) or None


class RequestValidationError(ValueError):
    """A request failed validation; `errors` name each field and what is wrong."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


def invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"field": field, "message": message}])


def parse_export_request(payload: Any) -> ExportRequest:
    """Validate `payload` into an ExportRequest or raise RequestValidationError naming the fields."""
    if not isinstance(payload, dict):
        raise invalid("body", "must be a JSON object")
    try:
        return ExportRequest.model_validate(payload)
    except ValidationError as exc:
        raise RequestValidationError(describe(exc.errors(include_url=False, include_input=False))) from None


def describe(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Pydantic's errors (or Powertools' request validation errors, located in the body, the query
    string or a header) as {"field", "message"}: the field as the caller spelled it."""
    return [{"field": _field(err["loc"]), "message": _message(err)} for err in errors]


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = list(loc)
    where = parts.pop(0) if parts and parts[0] in _LOCATIONS else "body"
    names = [str(p) for p in parts if isinstance(p, str)]  # integers are positions in the JSON text
    if not names:
        return "body"
    if where == "header":  # Powertools lowercases header names
        return "-".join(word.capitalize() for word in names[-1].split("-"))
    return ".".join(names)


def _message(err: Mapping[str, Any]) -> str:
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
    }
    if kind in simple:
        return simple[kind]
    return str(err.get("msg", "is invalid")).removeprefix("Value error, ")
