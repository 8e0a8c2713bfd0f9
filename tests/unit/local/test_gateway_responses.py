"""The local API Gateway's own answers are shaped by template.yaml's GatewayResponses, as API Gateway
shapes them (tests/integration/test_api_gateway.py sends the requests)."""

from __future__ import annotations

import json

import pytest

from local.stack.api_gateway import GatewayResponses
from local.stack.template import gateway_responses, load_template
from tests.api_contract import check_error

pytestmark = pytest.mark.unit


def test_the_template_s_responses_give_api_gateway_s_answer_the_api_s_shape() -> None:
    status, headers, body = GatewayResponses(gateway_responses(load_template())).answer(
        "MISSING_AUTHENTICATION_TOKEN"
    )
    assert (status, headers["Content-Type"]) == (403, "application/json")
    answer = json.loads(body)
    assert answer == {
        "error": {"code": "MISSING_AUTHENTICATION_TOKEN", "message": "Missing Authentication Token"}
    }
    check_error(answer)


def test_a_response_type_s_own_entry_wins_over_the_default() -> None:
    declared = {
        "DEFAULT_4XX": {"ResponseTemplates": {"application/json": '{"default": true}'}},
        "MISSING_AUTHENTICATION_TOKEN": {
            "StatusCode": "404",
            "ResponseParameters": {"gatewayresponse.header.Cache-Control": "'no-store'"},
            "ResponseTemplates": {"application/json": '{"message": $context.error.messageString}'},
        },
    }
    status, headers, body = GatewayResponses(declared).answer("MISSING_AUTHENTICATION_TOKEN")
    assert (status, headers["Cache-Control"], json.loads(body)) == (
        404,
        "no-store",
        {"message": "Missing Authentication Token"},
    )


def test_without_gateway_responses_the_answer_is_api_gateway_s_own() -> None:
    status, _, body = GatewayResponses({}).answer("MISSING_AUTHENTICATION_TOKEN")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})


def test_a_template_this_cannot_render_is_refused_not_sent_half_rendered() -> None:
    declared = {"DEFAULT_4XX": {"ResponseTemplates": {"application/json": '{"id": "$context.requestId"}'}}}
    with pytest.raises(ValueError, match=r"\$context.requestId"):
        GatewayResponses(declared).answer("MISSING_AUTHENTICATION_TOKEN")
