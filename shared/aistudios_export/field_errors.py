"""Validation errors as callers see them: each names the field, as the caller spelled it, and what
is wrong with it. Free of pydantic, so that a handler can raise and answer them without importing
the validation machinery (see `make bench-coldstart`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .models import OBJECT_ID

# What a pattern means, for the error message of a value that does not match it.
PATTERN_MEANINGS = {OBJECT_ID.pattern: "a 24-character hexadecimal ObjectId"}
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
