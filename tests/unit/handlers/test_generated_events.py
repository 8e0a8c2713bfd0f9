"""The handlers fed the events SAM CLI generates itself (`sam local generate-event`), so the samples
in events/ and the shapes the handlers expect cannot drift from the real ones: API Gateway proxy
events for the API, an SQS batch carrying an EventBridge envelope for the request queue, and an
EventBridge envelope for the execution-status safety net."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.helpers import REPO
from tests.unit.aws_resources import PROJECT_ID, Resources
from tests.unit.handlers.test_handlers import Context, _load_handler

pytestmark = pytest.mark.unit


@functools.cache
def _sam() -> str:
    sam = REPO / ".tools" / "bin" / "sam"
    found = str(sam) if sam.exists() else shutil.which("sam")
    assert found, "SAM CLI not found: run `make tools` (make test installs it)"
    return found


def generate(*args: str) -> dict[str, Any]:
    """`sam local generate-event <args>`, parsed (a fresh copy each time)."""
    return dict(json.loads(_generated(args)))


@functools.cache
def _generated(args: tuple[str, ...]) -> str:
    return subprocess.run(  # noqa: S603 - our own tool, fixed arguments
        [_sam(), "local", "generate-event", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=os.environ | {"SAM_CLI_TELEMETRY": "0"},
    ).stdout


def _handler(name: str, env: Resources) -> Any:
    module = _load_handler(name)
    module.adapters = env.adapters  # the recording AI Studios client, moto's AWS
    return module


def test_api_gateway_proxy_events_reach_the_routes(env: Resources) -> None:
    start = _handler("start_export", env)
    created = start.lambda_handler(
        generate(
            "apigateway", "aws-proxy", "--method", "POST", "--path", "exports", "--resource", "/exports",
            "--body", json.dumps({"projectId": PROJECT_ID, "resolution": "720"}),
        ),
        Context(),
    )  # fmt: skip
    assert created["statusCode"] == 202, created["body"]
    export_id = json.loads(created["body"])["exportId"]
    assert env.aistudios.exports[0]["projectId"] == PROJECT_ID

    get = _handler("get_export", env)
    found = get.lambda_handler(
        generate(
            "apigateway", "aws-proxy", "--method", "GET", "--path", f"exports/{export_id}",
            "--resource", "/exports/{exportId}", "--querystringparameters", "{}",
        ),
        Context(),
    )  # fmt: skip
    assert found["statusCode"] == 200, found["body"]
    assert json.loads(found["body"])["resolution"] == "720"

    cancel = _handler("cancel_export", env)
    gone = cancel.lambda_handler(
        generate(
            "apigateway", "aws-proxy", "--method", "DELETE", "--path", f"exports/{'0' * 32}",
            "--resource", "/exports/{exportId}",
        ),
        Context(),
    )  # fmt: skip
    assert gone["statusCode"] == 404


def test_an_sqs_batch_of_an_eventbridge_envelope_starts_the_export(env: Resources) -> None:
    envelope = generate("cloudwatch", "scheduled-event")
    envelope |= {"detail-type": "Export Requested", "source": "my.app", "detail": {"projectId": PROJECT_ID}}
    batch = generate("sqs", "receive-message")  # SAM cannot template a JSON body: it is set here
    batch["Records"][0]["body"] = json.dumps(envelope)
    consumer = _handler("start_requested", env)
    assert consumer.lambda_handler(batch, Context()) == {"batchItemFailures": []}
    assert [e["projectId"] for e in env.aistudios.exports] == [PROJECT_ID]
    # the generated body as is (a string, not an event) is dropped, not retried forever
    assert consumer.lambda_handler(generate("sqs", "receive-message"), Context()) == {"batchItemFailures": []}


def test_the_safety_net_takes_an_eventbridge_envelope(env: Resources) -> None:
    record = env.seed()
    envelope = generate("cloudwatch", "scheduled-event")
    envelope |= {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:export:{record.export_id}",
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:export",
            "name": record.export_id,
            "status": "ABORTED",
            "error": None,
            "cause": None,
        },
    }
    failure = _handler("record_failure", env)
    answer = failure.lambda_handler(envelope, Context())
    assert answer["status"] == "CANCELLED"
    assert [n["body"]["status"] for n in env.notifications()] == ["CANCELLED"]
