"""Webhooks as hints: the start step's receiver URL, the receiver's checks, the poll's arming, and the
ASL's interruptible wait run by moto's own Step Functions executor (in process, no sockets)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from aistudios_export import ExportRecord, ExportStatus, Progress, TransientUpstreamError
from aistudios_export.clock import iso, utcnow
from aistudios_export.request import parse_export_request
from aistudios_export.webhooks.forwarding import forward_event
from aistudios_export.webhooks.receiver import WebhookEvent
from aistudios_export.webhooks.tokens import new_token, receiver_url, token_hash
from aistudios_export.workflow.arming import ARM_FACTOR, arm_from, webhook_wait
from aistudios_export.workflow.payloads import poll_output
from aistudios_export.workflow.poll import poll_export
from aistudios_export.workflow.start import start_export
from tests.helpers import REPO, load_event
from tests.unit.aws_resources import EXPORT_ID, PROJECT_ID, Resources
from tests.unit.webhooks.conftest import DONE, Hooks

pytestmark = pytest.mark.unit

RECEIVER = "https://abc123.execute-api.us-east-1.amazonaws.com/v1/webhooks"
ASL = (REPO / "statemachine" / "export.asl.json").read_text()


# -- the start step ---------------------------------------------------------------------------


def test_ai_studios_gets_the_exports_own_receiver_and_the_record_only_the_tokens_hash(hooks: Hooks) -> None:
    request = parse_export_request(
        {"projectId": PROJECT_ID, "webhookUrl": "https://hooks.example.com/in?k=1"}
    )

    record = start_export(hooks.adapters, request, webhook_receiver=RECEIVER)

    [sent] = hooks.aistudios.exports
    url = sent["webhook_url"]
    match = re.fullmatch(re.escape(RECEIVER) + r"/([0-9a-f]{32})/([A-Za-z0-9_-]{43})", url)
    assert match, url
    assert match.group(1) == record.export_id
    stored = hooks.adapters.store.get(record.export_id)
    assert stored.webhook_token_hash == token_hash(match.group(2))
    assert match.group(2) not in json.dumps(hooks.res.items(), default=str)  # only its hash is kept
    assert stored.user_webhook_url == "https://hooks.example.com/in?k=1"


@pytest.mark.parametrize(("enabled", "receiver"), [("false", RECEIVER), ("true", None)])
def test_without_a_receiver_the_callers_webhook_url_goes_to_ai_studios_as_before(
    enabled: str, receiver: str | None
) -> None:
    with mock_aws():
        res = Resources(WEBHOOKS_ENABLED=enabled)
        request = parse_export_request(
            {"projectId": PROJECT_ID, "webhookUrl": "https://hooks.example.com/in"}
        )

        record = start_export(res.adapters, request, webhook_receiver=receiver)

        assert res.aistudios.exports[0]["webhook_url"] == "https://hooks.example.com/in"
        stored = res.adapters.store.get(record.export_id)
        assert stored.webhook_token_hash is None
        assert stored.user_webhook_url is None


def test_every_export_gets_its_own_unguessable_token() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", t) for t in tokens)  # 256 random bits
    assert receiver_url(RECEIVER + "/", EXPORT_ID, "t") == f"{RECEIVER}/{EXPORT_ID}/t"


# -- the receiver: who may post -----------------------------------------------------------------


def test_unknown_exports_wrong_tokens_and_ended_exports_are_refused_alike_without_detail(
    hooks: Hooks,
) -> None:
    hooks.seed()
    body = {"progress": 100, "backendTaskId": "task1"}

    assert hooks.post(body, export_id="f" * 32).status == 404  # no such export
    assert hooks.post(body, token=new_token()).status == 404  # another token
    assert hooks.post(body, token="short").status == 404  # not a token at all
    assert hooks.post(body, export_id="../etc").status == 404
    for answer in (hooks.post(body, export_id="f" * 32), hooks.post(body, token=new_token())):
        assert answer.body == {}
    assert hooks.aistudios.progress_reads == 0  # a refusal costs AI Studios nothing

    hooks.adapters.store.mark_failed(EXPORT_ID, ExportStatus.CANCELLED, "ExportCancelled", "by hand")
    assert hooks.post(body).status == 404  # the token expired with the export


def test_an_export_without_a_receiver_accepts_no_token(hooks: Hooks) -> None:
    hooks.adapters.store.create(ExportRecord(EXPORT_ID, PROJECT_ID, "1080", status=ExportStatus.RENDERING))

    assert hooks.post({"progress": 100}).status == 404


@pytest.mark.parametrize(
    "body",
    ["", "not json", "[]", '{"progress": "100"}', '{"progress": 101}', '{"progress": true}',
     '{"progress": 50, "backendTaskId": "a/b"}', json.dumps({"progress": 5, "pad": "x" * 9000})],
)  # fmt: skip
def test_a_body_that_is_not_an_ai_studios_webhook_is_refused(hooks: Hooks, body: str) -> None:
    hooks.seed()

    assert hooks.post(body).status == 400
    assert hooks.record().webhook_events == frozenset()


TASK = '"backendTaskId": "t"'


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"\xff\xfe{}", "body", "must be UTF-8 encoded JSON"),
        (b'{"progress": 50, "credit": "\xe9"}', "body", "must be UTF-8 encoded JSON"),
        (b"\xef\xbb\xbf{}", "body", "must be valid JSON"),  # AI Studios writes no BOM
        ("x" * (10 * 1024 * 1024), "body", "must be at most 8192 bytes"),  # API Gateway's largest
        ("[" * 3000 + "]" * 3000, "body", "must not nest deeper than 32 levels"),
        (f'{{"progress": 50, {TASK}, "credit": NaN}}', "credit", "must be a finite number"),
        (f'{{"progress": 50, {TASK}, "credit": -Infinity}}', "credit", "must be a finite number"),
        (f'{{"progress": 50, {TASK}, "credit": 1e400}}', "credit", "must be a finite number"),
        (f'{{"progress": 50, {TASK}, "credit": {"9" * 400}}}', "credit", "must be a number of at most 40"),
        (f'{{"progress": 50, {TASK}, "credit": {"9" * 5000}}}', "credit", "must be a number of at most 40"),
        (f'{{"progress": NaN, {TASK}}}', "progress", "must be a finite number"),
        (f'{{"progress": {"1" * 400}, {TASK}}}', "progress", "must be a number of at most 40"),
        ('{"progress": 101}', "progress", "must be a number from 0 to 100"),
        ('{"progress": 50, "backendTaskId": "a/b"}', "backendTaskId", "must be 1 to 128"),
        ('{"progress": 50, "backendTaskId": "\\ud800"}', "backendTaskId", "must be valid Unicode"),
    ],
)
def test_any_bytes_get_a_400_naming_the_field_and_nothing_is_taken(
    hooks: Hooks, body: str | bytes, field: str, message: str
) -> None:
    hooks.seed()

    answer = hooks.post(body)

    assert answer.status == 400
    error = answer.body["error"]
    assert (error["code"], error["field"]) == ("InvalidWebhook", field)
    assert message in error["message"]
    assert error["details"][0]["field"] == field
    assert hooks.record().webhook_events == frozenset()
    assert hooks.aistudios.progress_reads == 0


def test_a_body_is_not_read_before_the_token_is_proved(hooks: Hooks) -> None:
    hooks.seed()

    for body in (b"\xff\xfe", "x" * (10 * 1024 * 1024), '{"progress": 50, "credit": NaN}'):
        answer = hooks.post(body, token=new_token())
        assert (answer.status, answer.body) == (404, {})


def test_a_credit_and_a_backend_task_id_are_checked_for_shape_and_never_kept() -> None:
    assert WebhookEvent.parse(b'{"progress": 25, "credit": 1.5e3}') == WebhookEvent(25.0, "")
    assert WebhookEvent.parse(b'{"progress": 25, "credit": "free", "backendTaskId": "t"}') == WebhookEvent(
        25.0, "t"
    )
    local = "http://127.0.0.1:9"  # never connected to: a unit test opens no socket

    assert forward_event(f"{local}/hook", {"credit": float("nan")}, "k" * 64, local_origin=local) is False


# -- the receiver: what it believes ---------------------------------------------------------------


def test_a_webhook_the_progress_api_contradicts_is_refused_and_changes_nothing(hooks: Hooks) -> None:
    hooks.seed()
    hooks.aistudios.readings = [Progress(40.0, "rendering")]

    forged = hooks.post({"progress": 100, "backendTaskId": "task1", "download_url": "https://evil.example/x"})

    assert forged.status == 409
    assert forged.body["error"]["code"] == "WebhookNotConfirmed"
    record = hooks.record()
    assert record.webhook_confirmed_at is None
    assert record.webhook_events == frozenset()
    assert not forged.moved_on


def test_a_confirmed_milestone_is_taken_once_and_a_replay_is_refused_without_asking_again(
    hooks: Hooks,
) -> None:
    hooks.seed()
    hooks.aistudios.readings = [Progress(55.0, "rendering")]

    first = hooks.post({"progress": 50, "backendTaskId": "task1"})
    replay = hooks.post({"progress": 50, "backendTaskId": "task1"})

    assert first.status == 202
    assert replay.status == 409
    assert hooks.aistudios.progress_reads == 1
    record = hooks.record()
    assert record.webhook_events == {"50"}
    assert record.webhook_confirmed_at is None  # a milestone is not the end


def test_late_and_out_of_order_webhooks_are_each_believed_once(hooks: Hooks) -> None:
    hooks.seed()
    hooks.aistudios.readings = [DONE]

    answers = [hooks.post({"progress": p, "backendTaskId": "task1"}).status for p in (100, 25, 75, 100, 50)]

    assert answers == [202, 202, 202, 409, 202]
    record = hooks.record()
    assert record.webhook_events == {"25", "50", "75", "100"}
    confirmed = record.webhook_confirmed_at
    assert confirmed is not None
    reads = hooks.aistudios.progress_reads
    assert (
        hooks.post({"progress": 100, "backendTaskId": "task2"}).status == 409
    )  # another task id: the same level
    assert hooks.aistudios.progress_reads == reads
    assert hooks.record().webhook_confirmed_at == confirmed  # the first confirmation stands


def test_when_ai_studios_cannot_confirm_the_webhook_is_not_taken_so_a_retry_can_be(hooks: Hooks) -> None:
    hooks.seed()
    hooks.aistudios.readings = [TransientUpstreamError("down"), DONE]

    assert hooks.post({"progress": 100, "backendTaskId": "t"}).status == 503
    assert hooks.record().webhook_events == frozenset()
    assert hooks.post({"progress": 100, "backendTaskId": "t"}).status == 202


def test_the_download_url_a_webhook_carries_is_never_kept(hooks: Hooks) -> None:
    hooks.seed()
    hooks.aistudios.readings = [DONE]

    hooks.post({"progress": 100, "backendTaskId": "t", "download_url": "https://evil.example/v.mp4"})

    assert "evil.example" not in json.dumps(hooks.res.items(), default=str)
    assert WebhookEvent.parse('{"progress": 100, "download_url": "https://x"}') == WebhookEvent(100.0, "")


def test_a_refused_user_endpoint_does_not_change_the_answer_or_the_export(hooks: Hooks) -> None:
    hooks.seed(user_webhook_url="https://10.0.0.7/hook")  # private: the URL policy refuses it
    hooks.aistudios.readings = [DONE]

    answer = hooks.post({"progress": 100, "backendTaskId": "t"})

    assert answer.status == 202
    assert answer.forwarded is False
    assert hooks.record().webhook_confirmed_at is not None
    assert hooks.record().status is ExportStatus.RENDERING


def test_the_sample_event_is_a_webhook_for_the_receiver_route() -> None:
    event = load_event("receive_webhook")
    assert event["resource"] == "/webhooks/{exportId}/{token}"
    assert event["httpMethod"] == "POST"
    parsed = WebhookEvent.parse(event["body"])
    assert parsed is not None
    assert parsed.progress == 100


# -- the poll: when to arm ----------------------------------------------------------------------


def _record(**fields: Any) -> ExportRecord:
    return ExportRecord(EXPORT_ID, PROJECT_ID, "1080", webhook_token_hash="h", **fields)


def test_only_long_enough_waits_of_exports_with_a_receiver_are_armed() -> None:
    now = utcnow()
    long_wait, short_wait = arm_from(10), arm_from(10) - 1

    assert webhook_wait(_record(), long_wait, min_wait=10, settled=False, read_at=now) == (long_wait, True)
    assert webhook_wait(_record(), short_wait, min_wait=10, settled=False, read_at=now) == (short_wait, False)
    no_receiver = ExportRecord(EXPORT_ID, PROJECT_ID, "1080")
    assert webhook_wait(no_receiver, 100, min_wait=10, settled=False, read_at=now) == (100, False)
    assert webhook_wait(_record(), 100, min_wait=10, settled=True, read_at=now) == (100, False)


def test_after_a_confirmed_completion_no_wait_is_armed_and_a_fresh_one_means_look_again_now() -> None:
    now = utcnow()
    before = _record(webhook_confirmed_at=iso(now - timedelta(seconds=5)))
    after = _record(webhook_confirmed_at=iso(now + timedelta(milliseconds=300)))

    assert webhook_wait(before, 60, min_wait=10, settled=False, read_at=now) == (60, False)
    assert webhook_wait(after, 60, min_wait=10, settled=False, read_at=now) == (1, False)


def test_the_poll_tells_the_state_machine_to_arm(hooks: Hooks) -> None:
    hooks.seed(created_at=iso(utcnow() - timedelta(seconds=60)))
    hooks.aistudios.readings = [Progress(10.0, "rendering")]

    result = poll_export(hooks.adapters, EXPORT_ID, PROJECT_ID, None)

    assert result.next_wait_seconds >= ARM_FACTOR * 5
    assert result.arm_webhook is True
    assert poll_output(result)["armWebhook"] is True


# -- the ASL's interruptible wait, run by moto's executor --------------------------------------


class Machine:
    """The definition's "Wait for render or webhook" state alone, its exits made observable."""

    def __init__(self, hooks: Hooks, table: str = "exports") -> None:
        asl = json.loads(ASL.replace("${ExportsTableName}", table).replace("${Partition}", "aws"))
        state = asl["States"]["Wait for render or webhook"]
        self.sfn = boto3.client("stepfunctions")
        self.hooks = hooks
        definition = {
            "StartAt": "Wait for render or webhook",
            "States": {
                "Wait for render or webhook": state,
                "Check progress": {"Type": "Pass", "Result": "polled", "ResultPath": "$.next", "End": True},
                "Wait for render": {"Type": "Pass", "Result": "waited", "ResultPath": "$.next", "End": True},
            },
        }
        self.arn = self.sfn.create_state_machine(
            name=f"wait-{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=hooks.res.role
        )["stateMachineArn"]

    def run(self, wait: int, during: Any = None) -> tuple[float, dict[str, Any], list[str]]:
        started = time.monotonic()
        arn = self.sfn.start_execution(
            stateMachineArn=self.arn,
            input=json.dumps({"exportId": EXPORT_ID, "poll": {"nextWaitSeconds": wait}}),
        )["executionArn"]
        if during is not None:
            _armed(self.sfn, arn)
            during()
        while (execution := self.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() - started < wait + 10
            time.sleep(0.05)
        events = self.sfn.get_execution_history(executionArn=arn)["events"]
        return time.monotonic() - started, json.loads(execution["output"]), [e["type"] for e in events]


@pytest.fixture
def executor() -> Iterator[Hooks]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        hooks = Hooks()
        role = boto3.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")
        hooks.res.role = role["Role"]["Arn"]  # type: ignore[attr-defined]
        yield hooks


def _armed(sfn: Any, arn: str) -> None:
    """Once the task has stored its token (TaskSubmitted): no read of the record while the executor
    writes it (in-process moto is not safe for that; the local stack serialises item operations)."""
    deadline = time.monotonic() + 5
    while "TaskSubmitted" not in {e["type"] for e in sfn.get_execution_history(executionArn=arn)["events"]}:
        assert time.monotonic() < deadline, "the wait never stored its task token"
        time.sleep(0.02)


def test_a_confirmed_completion_ends_the_armed_wait_at_once(executor: Hooks) -> None:
    executor.seed()
    executor.aistudios.readings = [DONE]

    def webhook() -> None:
        assert executor.record().wait_token is not None
        answer = executor.post({"progress": 100, "backendTaskId": "t"})
        assert answer.status == 202
        assert answer.moved_on is True

    took, output, events = Machine(executor).run(wait=30, during=webhook)

    assert took < 5, "a 30 s wait ended by the webhook"
    assert output["next"] == "polled"
    assert output["poll"] == {"nextWaitSeconds": 30}  # the state's input goes on unchanged
    assert "TaskSucceeded" in events


@pytest.mark.parametrize(
    "reading",
    [Progress(30.0, "rendering"), Progress(100.0, "complete")],
    ids=["the API reads 30", "the API reads 100 without a download URL"],
)
def test_an_unconfirmed_webhook_leaves_the_wait_to_run_its_course(executor: Hooks, reading: Progress) -> None:
    executor.seed()
    executor.aistudios.readings = [reading]

    def webhook() -> None:
        assert executor.post({"progress": 100, "backendTaskId": "t"}).status == 409

    took, output, events = Machine(executor).run(wait=2, during=webhook)

    assert took >= 2
    assert output["next"] == "polled"
    assert "TaskTimedOut" in events
    assert executor.record().webhook_confirmed_at is None


def test_a_stale_wait_token_is_ignored(executor: Hooks) -> None:
    executor.seed(wait_token="a-token-of-a-wait-long-over")
    executor.aistudios.readings = [DONE]

    answer = executor.post({"progress": 100, "backendTaskId": "t"})

    assert answer.status == 202
    assert answer.moved_on is False
    assert executor.record().webhook_confirmed_at is not None  # the next poll will see it


def test_a_completion_confirmed_before_the_wait_is_armed_polls_at_once(executor: Hooks) -> None:
    executor.seed(webhook_confirmed_at=iso(utcnow()))

    took, output, events = Machine(executor).run(wait=30)

    assert took < 5
    assert output["next"] == "polled"
    assert "TaskFailed" in events


def test_a_wait_that_cannot_be_armed_falls_back_to_the_plain_wait(executor: Hooks) -> None:
    executor.seed()

    _, output, events = Machine(executor, table="no-such-table").run(wait=30)

    assert output["next"] == "waited"
    assert "TaskFailed" in events
