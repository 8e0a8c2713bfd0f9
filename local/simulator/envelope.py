"""AI Studios JSON envelopes: ``{"success": true, "data": ...}`` / ``{"success": false, "error": ...}``,
and the JSON request bodies they answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    """A JSON response the HTTP layer writes out."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def ok(data: Any) -> Reply:
    """``{"success": true, "data": data}`` with HTTP 200."""
    return Reply(200, {"success": True, "data": data})


def error(status: int, code: str | int, msg: str, headers: dict[str, str] | None = None) -> Reply:
    """``{"success": false, "error": {"code", "msg"}}`` with the given HTTP status."""
    return Reply(status, {"success": False, "error": {"code": code, "msg": msg}}, dict(headers or {}))


def parse_json(raw: bytes) -> tuple[Any, bool]:
    """Decode a JSON body; ``(None, True)`` for an empty body, ``(None, False)`` when invalid."""
    if not raw.strip():
        return None, True
    try:
        return json.loads(raw), True
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, False


def bad_json() -> Reply:
    return error(400, "InvalidRequest", "request body is not valid JSON")
