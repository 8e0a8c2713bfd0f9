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
    answer = requests.get(f"{gateway.url}/exports/abc", timeout=5)
    assert (answer.status_code, answer.json()["error"]["code"]) == (502, "BadGateway")
    check_error(answer.json())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nowhere"),
        ("DELETE", "/exports"),  # a path the API has, with a method it has not
        ("HEAD", "/exports"),  # a REST API does not answer HEAD for GET
        ("OPTIONS", "/exports"),  # nor OPTIONS, without CORS
        ("PATCH", "/exports/abc"),
        ("TRACE", "/exports/abc"),  # the standard library's server answered these with an HTML 501
        ("PURGE", "/exports"),
    ],
)
def test_a_method_or_path_the_api_has_not_is_answered_as_api_gateway_answers_it(
    gateway: LocalApiGateway, method: str, path: str
) -> None:
    """API Gateway's MISSING_AUTHENTICATION_TOKEN (403), in the shape template.yaml's
    GatewayResponses give it: neither a 404 nor a 405, which a REST API never answers."""
    answer = requests.request(method, f"{gateway.url}{path}", timeout=5)
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/json"
    if method != "HEAD":
        assert answer.json() == {
            "error": {"code": "MISSING_AUTHENTICATION_TOKEN", "message": "Missing Authentication Token"}
        }
        check_error(answer.json())
