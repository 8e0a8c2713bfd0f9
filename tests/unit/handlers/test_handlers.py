"""Each Lambda handler fed the sample events of events/, against moto in-process."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from moto import mock_aws

from aistudios_export import Adapters, ExportRecord, ExportStatus, PermanentUpstreamError, Settings
from tests.api_contract import check_answer, check_error
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
    assert {e["field"] for e in body["error"]["details"]} == {"projectId", "resolution"}
    check_answer("POST", "/exports", 400, body)

    get = _load_handler("get_export")
    missing = get.lambda_handler(load_event("get_export"), Context())
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"])["error"]["code"] == "ExportNotFound"
    check_answer("GET", "/exports/{exportId}", 404, json.loads(missing["body"]))

    env.seed()
    found = get.lambda_handler(load_event("get_export"), Context())
    assert found["statusCode"] == 200
    view = json.loads(found["body"])
    assert view["status"] == "RENDERING"
    assert view["links"]["self"] == (
        "https://abc123.execute-api.us-east-1.amazonaws.com/v1/exports/01a21ec5ce135e5ff0ab93749a578ff3"
    )
    check_answer("GET", "/exports/{exportId}", 200, view)


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
        assert json.loads(answer["body"])["error"]["field"] == "body", name
        check_answer("POST", "/exports", 400, json.loads(answer["body"]))

    get = _load_handler("get_export")
    bad_id = load_event("get_export")
    bad_id["pathParameters"] = {"exportId": "x" * 5000}
    bad_id["path"] = "/exports/" + "x" * 5000
    answer = get.lambda_handler(bad_id, Context())
    assert answer["statusCode"] == 404


def _listing(**query: str) -> dict[str, Any]:
    event = load_event("list_exports")
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
    return event


def _list(get: ModuleType, **query: str) -> tuple[int, dict[str, Any]]:
    answer = get.lambda_handler(_listing(**query), Context())
    body = json.loads(answer["body"])
    check_answer("GET", "/exports", answer["statusCode"], body)
    return answer["statusCode"], body


def test_the_listing_sample_event_lists_a_project_s_succeeded_exports(env: Resources) -> None:
    env.seed(status=ExportStatus.SUCCEEDED)
    answer = _load_handler("get_export").lambda_handler(load_event("list_exports"), Context())
    assert answer["statusCode"] == 200
    page = json.loads(answer["body"])
    assert [e["exportId"] for e in page["exports"]] == ["01a21ec5ce135e5ff0ab93749a578ff3"]
    assert page["nextToken"] is None
    check_answer("GET", "/exports", 200, page)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"projectId": "nope"}, "projectId", "must be a 24-character hexadecimal ObjectId"),
        ({"status": "DONE"}, "status", "must be one of REQUESTED, RENDERING, DELIVERING, SUCCEEDED"),
        ({"limit": "0"}, "limit", "must be at least 1"),
        ({"limit": "101"}, "limit", "must be at most 100"),
        ({"limit": "many"}, "limit", "must be an integer"),
        ({"nextToken": "garbage"}, "nextToken", "is not a token this listing issued"),
        ({"nextToken": ""}, "nextToken", "must be at least 1 character"),
        ({"projectid": "65fa6b07dca2e367461a2925"}, "projectid", "is not a query parameter of this listing"),
    ],
)
def test_listing_parameters_are_checked_and_named(
    env: Resources, query: dict[str, str], field: str, message: str
) -> None:
    status, body = _list(_load_handler("get_export"), **query)
    assert status == 400
    assert body["error"]["field"] == field
    assert body["error"]["message"].startswith(f"{field}: {message}")


def test_the_listing_pages_through_every_export_newest_first(env: Resources) -> None:
    for n in range(5):
        created = f"2026-11-27T20:0{n}:00.000Z"
        status = ExportStatus.FAILED if n % 2 else ExportStatus.SUCCEEDED
        env.adapters.store.create(ExportRecord(f"{n:032x}", f"{n:024x}", "1080", status, created_at=created))
    get = _load_handler("get_export")
    seen, query = [], {"limit": "2"}
    while True:
        status, page = _list(get, **query)
        assert status == 200
        seen += [e["exportId"] for e in page["exports"]]
        if page["nextToken"] is None:
            assert "next" not in page["links"]
            break
        assert page["links"]["next"].endswith(f"/v1/exports?limit=2&nextToken={page['nextToken']}")
        query = {"limit": "2", "nextToken": page["nextToken"]}
    assert seen == [f"{n:032x}" for n in (4, 3, 2, 1, 0)]
    _, failed = _list(get, status="FAILED")
    assert [e["exportId"] for e in failed["exports"]] == [f"{n:032x}" for n in (3, 1)]
    _, mine = _list(get, projectId=f"{3:024X}")  # any case
    assert [e["exportId"] for e in mine["exports"]] == [f"{3:032x}"]
    _, first = _list(get, limit="1")
    status, _ = _list(get, status="FAILED", nextToken=first["nextToken"])
    assert status == 400  # a token of the all-exports listing, presented to one status'


def test_an_unknown_route_is_a_404_in_the_error_shape(env: Resources) -> None:
    event = load_event("get_export") | {"path": "/exports/a/b/c", "resource": "/exports/{proxy+}"}
    answer = _load_handler("get_export").lambda_handler(event, Context())
    assert answer["statusCode"] == 404
    body = json.loads(answer["body"])
    assert body["error"]["code"] == "RouteNotFound"
    check_error(body)


def test_an_idempotency_key_is_checked_before_anything_starts(env: Resources) -> None:
    start = _load_handler("start_export")
    for key, message in (("k" * 129, "must be at most 128 characters"), ("a key", "printable ASCII")):
        event = load_event("start_export")
        event["headers"] = event["headers"] | {"idempotency-key": key}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
        answer = start.lambda_handler(event, Context())
        body = json.loads(answer["body"])
        assert (answer["statusCode"], body["error"]["field"]) == (400, "Idempotency-Key")
        assert message in body["error"]["message"]
        check_answer("POST", "/exports", 400, body)
    assert env.items() == []


def test_an_environment_initialized_ahead_of_its_first_request_has_api_gateways_29_seconds(
    env: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda may initialize an environment ahead of demand (and the local stack warms its workers
    when it starts): API Gateway's 29 s count from the request's arrival (requestTimeEpoch), not from
    the init. Counted from an init 2 minutes old, the first POST was answered 503 "no time left in
    the call budget" without asking AI Studios (schemathesis found it on a local stack)."""
    import time

    from aistudios_export import TransientUpstreamError, clock
    from aistudios_export.api import submission

    budgets: list[float | None] = []

    class Recording:
        def progress(self, project_id: str, **kwargs: Any) -> Any:
            raise TransientUpstreamError("not needed here", code="Unavailable")

        def export(self, project_id: str, *, budget_seconds: float | None = None, **kwargs: Any) -> str:
            budgets.append(budget_seconds)
            return "task"

    monkeypatch.setattr(clock, "STARTED", time.monotonic() - 120)
    monkeypatch.setattr(submission, "_warm", False, raising=False)  # the first request, to the old rule
    start = _load_handler("start_export")
    variables = TEMPLATE["Resources"]["StartExportFunction"]["Properties"]["Environment"]["Variables"]
    timeouts = {k: v for k, v in variables.items() if k.startswith("AWS_")}  # its AWS calls' bounds
    settings = Settings.from_env(env.env | timeouts)
    start.adapters = Adapters(settings, aistudios=Recording(), table=env.table)  # type: ignore[arg-type]
    event = load_event("start_export")
    event["requestContext"]["requestTimeEpoch"] = int(time.time() * 1000)

    answer = start.lambda_handler(event, Context())

    assert answer["statusCode"] == 202, answer["body"]
    [budget] = budgets
    reserve = 2 * settings.aws_call_worst_seconds() + 1
    assert budget == pytest.approx(28 - reserve, abs=0.5)  # the function's 28 s less what follows the call


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
    assert body["error"]["code"] == "UpstreamAuthenticationFailed"
    assert "token" not in body["error"]["message"]
    check_answer("POST", "/exports", 502, body)


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


def test_the_reconciler_ends_an_export_whose_execution_ended_unheard(
    env: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILE_MARGIN_SECONDS", "0")
    record = env.seed(status=ExportStatus.RENDERING)  # its deadline is long past
    arn = env.sfn.start_execution(stateMachineArn=env.state_machine_arn, name=record.export_id)[
        "executionArn"
    ]
    env.table.update_item(
        Key={"exportId": record.export_id},
        UpdateExpression="SET executionArn = :a",
        ExpressionAttributeValues={":a": arn},
    )
    env.sfn.stop_execution(executionArn=arn)
    while env.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":  # moto may run it
        time.sleep(0.05)
    reconcile = _load_handler("reconcile_exports")
    assert reconcile.lambda_handler(load_event("reconcile_exports"), Context()) == {
        "checked": 1,
        "ended": [record.export_id],
    }
    # CANCELLED, or FAILED where moto ran the one-state definition to its end before the stop
    assert env.adapters.store.get(record.export_id).status in (ExportStatus.CANCELLED, ExportStatus.FAILED)
    assert reconcile.lambda_handler(load_event("reconcile_exports"), Context()) == {"checked": 0, "ended": []}
