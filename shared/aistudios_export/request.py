"""The request model shared by every trigger, and its field-by-field validation errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import UnsafeUrlError
from .models import OBJECT_ID, RESOLUTIONS, Resolution
from .urls import validate_url


class ExportRequest(BaseModel):
    """What a caller asks for, whichever trigger it came through.

    `resolution` stays None when the caller names none, so the deployment's DefaultResolution applies.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    projectId: str = Field(description="24-hex ObjectId of the AI Studios project")
    workspaceId: str | None = Field(default=None, min_length=1, max_length=128)
    resolution: Resolution | None = None
    webhookUrl: str | None = Field(default=None, max_length=2048)

    @field_validator("projectId")
    @classmethod
    def _object_id(cls, value: str) -> str:
        if not OBJECT_ID.match(value):
            raise ValueError("must be a 24-character hexadecimal ObjectId")
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
        if value is None:
            return None
        try:
            validate_url(value, resolve=False)
        except UnsafeUrlError as exc:
            raise ValueError(exc.message) from None
        return value


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
        raise RequestValidationError(_describe(exc)) from None


def _describe(exc: ValidationError) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    for err in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(p) for p in err["loc"]) or "body"
        kind = err["type"]
        if kind == "missing":
            message = "is required"
        elif kind == "extra_forbidden":
            message = "is not a recognised field"
        elif kind == "literal_error":
            message = f"must be one of {', '.join(RESOLUTIONS)}"
        elif kind == "string_type":
            message = "must be a string"
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
        errors.append({"field": field, "message": message})
    return errors
