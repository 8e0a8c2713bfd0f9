"""Loaded by the schemathesis run of test_openapi_contract.py (SCHEMATHESIS_HOOKS): one check it adds,
and the few answers it accepts that a check would report, each for its reason and only in the exact
answer that reason covers (any other answer to the same request still fails)."""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData, UnsupportedMethodResponse, UseAfterFree

GATEWAY_403 = {"error": {"code": "MISSING_AUTHENTICATION_TOKEN", "message": "Missing Authentication Token"}}


@schemathesis.check
def status_declared_by_the_route(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every status is one the route declares by number: its `default` (API Gateway's other answers)
    would let status_code_conformance pass any status. A method the route has not is API Gateway's
    MISSING_AUTHENTICATION_TOKEN, in the API's shape (template.yaml's GatewayResponses)."""
    if response.request.method.upper() != case.operation.method.upper():
        assert (response.status_code, _body(response)) == (403, GATEWAY_403), (
            f"{response.request.method} is not a method of {case.operation.path}: API Gateway answers "
            f"403 MISSING_AUTHENTICATION_TOKEN, this answered {response.status_code} {response.content[:200]!r}"
        )
        return None
    declared = case.operation.definition.raw["responses"]
    assert str(response.status_code) in declared, (
        f"{case.operation.label} answered {response.status_code}, which it does not declare "
        f"(it declares {', '.join(s for s in declared if s != 'default')})"
    )
    return None


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """False drops `failure`: an answer the document declares, to a request schemathesis cannot
    know is a conflict, or a check that assumes what this API's contract says otherwise."""
    label, body = case.operation.label, _body(response)
    error = body.get("error", {}) if isinstance(body, dict) else {}
    if isinstance(failure, RejectedPositiveData):
        # nextToken is an opaque cursor only a previous page issues (the stateful phase follows the
        # page's link to send real ones): a drawn string is the documented 400 naming it.
        if label == "GET /exports" and response.status_code == 400 and error.get("field") == "nextToken":
            return False
        # The same drawn Idempotency-Key with another body: the declared 422, as the Idempotency-Key
        # draft (IETF httpapi) prescribes for a key reused with another payload (a retry's key is
        # one of the same keys: drawn once for POST /exports, it is another request for a retry).
        if label in {"POST /exports", "POST /exports/{exportId}/retry"} and response.status_code == 422:
            return error.get("code") != "IdempotencyKeyReused"
        # metadata's total size (S3's 2 KB of object metadata), which a JSON Schema cannot declare:
        # the documented 400 naming it.
        if label == "POST /exports" and response.status_code == 400 and error.get("field") == "metadata":
            return "keys and values together" not in error.get("message", "")
    if isinstance(failure, UseAfterFree):
        # DELETE /exports/{exportId} cancels: the export stays readable, CANCELLED (the documented
        # answer; the routes are the API's contract). Any other answer after it still fails.
        return not (
            response.status_code == 200 and isinstance(body, dict) and body.get("status") == "CANCELLED"
        )
    if isinstance(failure, UnsupportedMethodResponse):
        # Authentication: API Gateway answers a method a route has not as an unsigned request,
        # 403 MISSING_AUTHENTICATION_TOKEN. Schemathesis excuses a 401/403 on the routes that declare
        # SigV4; the webhook route's credential is the token in its path, which OpenAPI cannot
        # declare as a security scheme, so there it expects a 405 API Gateway never answers.
        return not (
            label == "POST /webhooks/{exportId}/{token}"
            and (response.status_code, body) == (403, GATEWAY_403)
        )
    return True


def _body(response: Any) -> Any:
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None
