"""The request model shared by every trigger (pydantic: imported by the first request that needs it,
not by a handler's import; errors.py names its errors)."""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from .errors import RequestValidationError, UnsafeUrlError, describe, invalid
from .models import (
    METADATA_KEY,
    METADATA_PAIRS,
    METADATA_RESERVED,
    METADATA_TOTAL,
    METADATA_VALUE,
    NAME,
    OBJECT_ID,
    RESOLUTIONS,
    Resolution,
)
from .net.urls import validate_url
from .settings import Settings

# What the API's document declares of the checks below, which stay the server's (their messages say
# what is wrong); tests/unit/api/test_declared_constraints.py holds each pattern to its check.
# The strings pydantic strips to nothing (str_strip_whitespace: Unicode White_Space) are refused.
_WHITE_SPACE = "\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK_PATTERN = f"[^{_WHITE_SPACE}]"
# The URL policy (net/urls.py) as far as a pattern can say it without DNS: https, a host name that is
# not localhost, *.localhost or *.internal (a public IP address is accepted too, undeclared), no
# user:password, a port up to 65535.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_NOT_LOCAL = (
    r"(?![Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt](?:[:/?#]|$))(?![Ii][Nn][Tt][Ee][Rr][Nn][Aa][Ll](?:[:/?#]|$))"
)
_PORT = r"(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
WEBHOOK_URL_PATTERN = (
    rf"^[Hh][Tt][Tt][Pp][Ss]://(?:{_LABEL}\.)+{_NOT_LOCAL}[A-Za-z]{{2,63}}{_PORT}(?:[/?#].*)?$"
)


def _not_reserved(key: str) -> str:
    if key in METADATA_RESERVED:
        raise ValueError(f"{key} is the stack's own object metadata ({', '.join(METADATA_RESERVED)})")
    return key


# The references are kept exactly as given (not stripped), so what the document declares is the check.
MetadataKey = Annotated[
    str,
    StringConstraints(strip_whitespace=False, pattern=METADATA_KEY.pattern),
    AfterValidator(_not_reserved),
]
MetadataValue = Annotated[str, StringConstraints(strip_whitespace=False, pattern=METADATA_VALUE.pattern)]
# As declared: no key but those the pattern allows (pydantic's own schema would allow any other).
Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": METADATA_PAIRS,
            "patternProperties": {
                METADATA_KEY.pattern: {"type": "string", "pattern": METADATA_VALUE.pattern}
            },
            "additionalProperties": False,
            "not": {"anyOf": [{"required": [key]} for key in METADATA_RESERVED]},
        }
    ),
]


class ExportRequest(BaseModel):
    """What a caller asks for, whichever trigger it came through.

    `resolution` stays None when the caller names none, so the deployment's DefaultResolution applies.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    projectId: str = Field(pattern=OBJECT_ID.pattern, description="24-hex ObjectId of the AI Studios project")
    workspaceId: str | None = Field(
        default=None, min_length=1, max_length=128, json_schema_extra={"pattern": NOT_BLANK_PATTERN}
    )
    resolution: Resolution | None = Field(
        default=None,
        description="the deployment's DefaultResolution when absent (1080p and 2160 are accepted)",
    )
    webhookUrl: str | None = Field(
        default=None,
        max_length=2048,
        description="https URL AI Studios calls when the render ends: a public host name (or address), "
        "no user:password",
        json_schema_extra={"pattern": WEBHOOK_URL_PATTERN},
    )
    name: Annotated[str, StringConstraints(strip_whitespace=False, pattern=NAME.pattern)] | None = Field(
        default=None,
        description="the caller's name for the export (object key and file name): 1 to 100 ASCII letters, "
        "digits, spaces, '.', '_' or '-', starting and ending with a letter or digit",
    )
    metadata: Metadata | None = Field(
        default=None,
        max_length=METADATA_PAIRS,
        description=f"up to {METADATA_PAIRS} pairs the caller gets back with the export (API, notification, "
        "lifecycle events, S3 object metadata): keys of 1 to 40 lowercase letters, digits or '-' (not "
        "starting with '-'), values of up to 256 printable ASCII characters, "
        f"at most {METADATA_TOTAL} characters of keys and values together; "
        f"not {', '.join(METADATA_RESERVED)} (the stack's own object metadata)",
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

    @field_validator("metadata")
    @classmethod
    def _metadata_size(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        """S3 keeps 2 KB of user metadata per object; the caller has METADATA_TOTAL of it."""
        if value and sum(len(k) + len(v) for k, v in value.items()) > METADATA_TOTAL:
            raise ValueError(f"keys and values together must be at most {METADATA_TOTAL} characters")
        return value


def _local_origin() -> str | None:
    """The one plain-http origin of a local stack (LOCAL_HTTP_ORIGIN, never set on AWS): its
    simulator, which there also plays a caller's own webhook endpoint (see webhooks/receiver.py)."""
    return os.environ.get(Settings.env_name("local_http_origin")) or None


def parse_export_request(payload: Any) -> ExportRequest:
    """Validate `payload` into an ExportRequest or raise RequestValidationError naming the fields."""
    if not isinstance(payload, dict):
        raise invalid("body", "must be a JSON object")
    try:
        return ExportRequest.model_validate(payload)
    except ValidationError as exc:
        raise RequestValidationError(describe(exc.errors(include_url=False, include_input=False))) from None
