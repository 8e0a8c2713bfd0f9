"""Each Lambda handler fed the sample events of events/, against moto in-process."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from moto import mock_aws

from aistudios_export import Adapters, PermanentUpstreamError, Settings
from tests.helpers import REPO, load_event
from tests.unit.aws_resources import TEMPLATE, Resources

pytestmark = pytest.mark.unit


def _load_handler(name: str) -> ModuleType:
    path = REPO / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"handler_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Context:
    function_name = "test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 28_000


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    with mock_aws():
        resources = Resources()
        for key, value in resources.env.items():
            monkeypatch.setenv(key, value)
        yield resources


def test_handlers_answer_the_sample_events(env: Resources) -> None:
    start = _load_handler("start_export")
    invalid = start.lambda_handler(load_event("start_export_invalid"), Context())
    assert invalid["statusCode"] == 400
    body = json.loads(invalid["body"])
    assert {e["field"] for e in body["errors"]} == {"projectId", "resolution"}

    get = _load_handler("get_export")
    missing = get.lambda_handler(load_event("get_export"), Context())
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"])["error"] == "ExportNotFound"

    env.seed()
    found = get.lambda_handler(load_event("get_export"), Context())
    assert found["statusCode"] == 200
    view = json.loads(found["body"])
    assert view["status"] == "RENDERING"
    assert view["links"]["self"] == (
        "https://abc123.execute-api.us-east-1.amazonaws.com/v1/exports/01a21ec5ce135e5ff0ab93749a578ff3"
    )


def test_the_failure_handler_answers_both_event_shapes(env: Resources) -> None:
    env.seed()
    handler = _load_handler("record_failure")
    assert handler.lambda_handler(load_event("record_failure"), Context()) == {
        "status": "FAILED",
        "code": "ProjectNotFound",
    }
    aborted = handler.lambda_handler(load_event("record_failure_execution_aborted"), Context())
    assert aborted == {"status": "FAILED", "code": "ExecutionAborted"}  # already final: left alone
    assert len(env.notifications()) == 1


def test_sample_events_exist_for_every_function() -> None:
    from local.stack.template import resources_of_type

    names = {p.stem for p in (REPO / "events").glob("*.json")}
    for function in resources_of_type(TEMPLATE, "AWS::Serverless::Function").values():
        code_dir = Path(function["Properties"]["CodeUri"]).name
        assert code_dir in names, f"events/{code_dir}.json is missing"


def test_api_answers_bad_bodies_and_ids_without_a_500(env: Resources) -> None:
    start = _load_handler("start_export")
    base = load_event("start_export")
    cases = {
        "nested": base | {"body": "[" * 5_000 + "]" * 5_000},
        "binary": base | {"body": base64.b64encode(b"\xff\xfe\x00").decode(), "isBase64Encoded": True},
        "huge": base | {"body": json.dumps({"projectId": "a" * 20_000})},
    }
    for name, event in cases.items():
        answer = start.lambda_handler(event, Context())
        assert answer["statusCode"] == 400, name
        assert json.loads(answer["body"])["errors"][0]["field"] == "body", name

    get = _load_handler("get_export")
    bad_id = load_event("get_export")
    bad_id["pathParameters"] = {"exportId": "x" * 5000}
    bad_id["path"] = "/exports/" + "x" * 5000
    answer = get.lambda_handler(bad_id, Context())
    assert answer["statusCode"] == 404


def test_listing_needs_a_valid_project_id(env: Resources) -> None:
    get = _load_handler("get_export")
    event = load_event("get_export")
    event |= {"resource": "/exports", "path": "/exports", "pathParameters": None}
    event["requestContext"] = event["requestContext"] | {"resourcePath": "/exports", "path": "/v1/exports"}
    event["queryStringParameters"] = {"projectId": "nope"}
    answer = get.lambda_handler(event, Context())
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["errors"] == [
        {"field": "projectId", "message": "must be a 24-character hexadecimal ObjectId"}
    ]
    env.seed()
    event["queryStringParameters"] = {"projectId": "65FA6B07DCA2E367461A2925"}
    listed = json.loads(get.lambda_handler(event, Context())["body"])
    assert [e["exportId"] for e in listed["exports"]] == ["01a21ec5ce135e5ff0ab93749a578ff3"]


def test_credentials_problems_are_a_502_for_the_operator_not_a_4xx(env: Resources) -> None:
    start = _load_handler("start_export")

    class Rejecting:
        def export(self, *args: Any, **kwargs: Any) -> str:
            raise PermanentUpstreamError(
                "AI Studios rejected a fresh token: expired", code="InvalidToken", status=401
            )

    start.adapters = Adapters(Settings.from_env(env.env), aistudios=Rejecting(), table=env.table)  # type: ignore[arg-type]
    answer = start.lambda_handler(load_event("start_export"), Context())
    assert answer["statusCode"] == 502
    body = json.loads(answer["body"])
    assert body["error"] == "UpstreamAuthenticationFailed"
    assert "token" not in body["message"]


def _metrics(output: str) -> list[str]:
    names = []
    for line in output.splitlines():
        if '"_aws"' in line:
            blob = json.loads(line)
            names += [m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    return names


def test_an_ending_is_counted_once_however_many_times_it_is_reported(
    env: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    env.seed()
    handler = _load_handler("record_failure")
    capsys.readouterr()

    handler.lambda_handler(load_event("record_failure"), Context())  # the failure path
    handler.lambda_handler(load_event("record_failure"), Context())  # its Task retried
    handler.lambda_handler(load_event("record_failure_execution_aborted"), Context())  # the safety net

    assert _metrics(capsys.readouterr().out).count("ExportsFailed") == 1


def test_a_failure_reported_after_success_is_not_counted(
    env: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    from aistudios_export import ExportStatus, VideoLocation

    env.seed(status=ExportStatus.SUCCEEDED, video=VideoLocation("b", "k", 1, "a" * 64), notified=True)
    handler = _load_handler("record_failure")
    capsys.readouterr()

    assert handler.lambda_handler(load_event("record_failure"), Context())["status"] == "SUCCEEDED"

    assert "ExportsFailed" not in _metrics(capsys.readouterr().out)
