"""The local API Gateway over real HTTP: its OpenAPI document and its own errors, in the API's shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openapi_spec_validator import validate

from local.stack.api_gateway import LocalApiGateway, Route
from tests.api_contract import DOCUMENT, check_error

pytestmark = pytest.mark.integration


def _invoke(function: str, event: Any) -> tuple[Any, dict[str, Any] | None]:
    if function == "crashes":
        return None, {"errorMessage": "boom"}
    return {"statusCode": 200, "body": json.dumps({"path": event["path"]}), "headers": {}}, None


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalApiGateway]:
    routes = [Route("GET", "/exports", "lists"), Route("GET", "/exports/{exportId}", "crashes")]
    api = LocalApiGateway(routes, _invoke).start()
    yield api
    api.stop()


def test_the_openapi_document_is_served_naming_this_server(gateway: LocalApiGateway) -> None:
    answer = requests.get(f"{gateway.url}/openapi.json", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    served = answer.json()
    assert served["servers"] == [{"url": gateway.url, "description": "the local stack"}]
    assert served == json.loads(DOCUMENT.read_text()) | {"servers": served["servers"]}
    validate(served)


def test_the_gateway_s_own_errors_have_the_api_s_shape(gateway: LocalApiGateway) -> None:
    assert requests.get(f"{gateway.url}/exports", timeout=5).json() == {"path": "/exports"}
    for method, path, status, code in [
        ("GET", "/nowhere", 404, "RouteNotFound"),
        ("DELETE", "/exports", 405, "MethodNotAllowed"),
        ("GET", "/exports/abc", 502, "BadGateway"),
    ]:
        answer = requests.request(method, f"{gateway.url}{path}", timeout=5)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
        check_error(answer.json())
    assert requests.delete(f"{gateway.url}/exports", timeout=5).headers["Allow"] == "GET"
