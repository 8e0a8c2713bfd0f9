"""The API's answers held to its OpenAPI document (docs/openapi.json): an answer with a status or a
key the document does not describe fails the test that received it."""

from __future__ import annotations

import functools
import json
from typing import Any

from openapi_schema_validator import OAS31Validator

from tests.helpers import REPO

DOCUMENT = REPO / "docs" / "openapi.json"


@functools.cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return loaded


def schema_named(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def validate(body: Any, schema: dict[str, Any]) -> None:
    """`body` against `schema`, whose references point into the document's components."""
    OAS31Validator({**schema, "components": document()["components"]}).validate(body)


def check_answer(method: str, route: str, status: int, body: Any) -> None:
    """The answer `route` (a path of the document, e.g. /exports/{exportId}) gave is documented."""
    responses = document()["paths"][route][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {route} answered {status}, which its document does not list"
    content = responses[str(status)].get("content")
    if content is not None:
        validate(body, content["application/json"]["schema"])


def check_error(body: Any) -> None:
    """Any error, from any route: the one error shape."""
    validate(body, schema_named("ErrorResponse"))
