"""Every permission is needed, and enough: a representative set of exports runs on a local deployment
whose functions and state machine are held to their own roles (local/stack/iam/), then the record
of their calls is checked against the roles' policies. No call may have been refused, and every
action x resource of every Allow statement of the template's inline policies must have been used,
but for the few the local stack cannot exercise, listed below with the reason.

The deployment brings its own credentials secret under a customer-managed key
(ExistingCredentialsSecretArn), so that the kms:Decrypt grants for it are exercised too.
`LOCAL_STACK_IAM=audit pytest tests/integration/test_iam.py` lists every call the template would
refuse in one run (enforcing, a refused call usually ends the path that would show the next)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from local.simulator import Fault
from local.stack import LocalDeployment
from local.stack.iam import Call, Unused, unused_permissions
from tests.helpers import new_project_id
from tests.integration.conftest import Api, deployment
from tests.integration.test_webhooks import inbox, inbox_url, outage
from tests.integration.test_workflow import execution_of, start

pytestmark = pytest.mark.integration
MIB = 1024 * 1024
FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED"}

# (principal, action, part of the resource): why the local stack cannot exercise it.
NOT_EXERCISED: dict[tuple[str, str, str], str] = {
    ("ExportStateMachine", "logs:", "*"): (
        "Step Functions sets up the state machine's CloudWatch Logs delivery (Logging) itself, when the "
        "state machine is created or updated, not in an execution; moto has no log delivery"
    ),
    ("ExportStateMachine", "xray:", "*"): "the state machine's X-Ray tracing: there is no X-Ray locally",
    ("RecordFailureFunction", "sqs:SendMessage", "safety-net-dead-letter-queue"): (
        "Lambda's dead-letter queue for the safety net's asynchronous invocations: the local event "
        "delivery (execution_events.py) retries a failed invocation but never dead-letters it"
    ),
    ("ReconcileExportsFunction", "sqs:SendMessage", "safety-net-dead-letter-queue"): (
        "Lambda's dead-letter queue for a scheduled run whose every attempt failed: the local schedules "
        "(schedules.py) run the function again at the next period but never dead-letter a run"
    ),
    ("ReconcileExportsFunction", "states:StopExecution", "execution:"): (
        "only for an execution still running two hours past its export's deadline (the lease's end); "
        "tests/unit/workflow/test_reconcile.py stops one on moto"
    ),
    ("DeliverExportFunction", "s3:PutObjectVersionTagging", "/exports/"): (
        "only a versioned bucket answers the upload's completion with a VersionId, which the video is "
        "then tagged by; the stack's own bucket keeps no versions (a destination bucket of the team's "
        "own may: tests/unit/local/test_iam_calls.py checks the local gate asks for it)"
    ),
    ("StartExportFunction", "dynamodb:GetItem", "idempotency-table"): (
        "Powertools' idempotency takes an existing record from its failed conditional PutItem "
        "(ReturnValuesOnConditionCheckFailure: ALL_OLD); GetItem is its fallback for a boto3 older "
        "than 1.26.164, and one of the permissions its documentation requires"
    ),
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    yield from deployment(
        tmp_path_factory,
        render_seconds=4,
        export_deadline_seconds=90,
        poll_min_wait_seconds=1,
        poll_max_wait_seconds=8,
        # three parts of 5 MiB: a copy can be cancelled, or its Lambda killed, half way
        video_size=12 * MIB,
        function_env={"DELIVERY_WORKERS": "2", "PART_SIZE_MB": "5"},
        request_retry_base_seconds=1,
        parameters={"RequestMaxAttempts": "2"},
        existing_credentials_secret=True,
    )


class Scenarios:
    """Each scenario drives one export (or request) as a user would and says what went wrong, if
    anything; most run at once, each on its own project."""

    def __init__(self, stack: LocalDeployment) -> None:
        self.stack, self.api = stack, Api(stack)
        assert stack.simulator is not None
        self.sim = stack.simulator
        self.s3, self.bucket = stack.client("s3"), stack.endpoints["bucket"]
        self.outcomes: dict[str, str] = {}

    def run(self, *scenarios: Callable[[], None], at_once: int = 4) -> None:
        """The scenarios, a few at a time: more would load a small machine (and moto) enough for the
        functions' tight AWS timeouts to expire, which is not what this test is about."""

        def one(scenario: Callable[[], None]) -> None:
            try:
                scenario()
                self.outcomes[scenario.__name__] = ""
            except Exception as exc:  # noqa: BLE001 - reported by test_the_scenarios_end_as_a_user_expects
                self.outcomes[scenario.__name__] = f"{type(exc).__name__}: {exc}"

        for start_at in range(0, len(scenarios), at_once):
            threads = [
                threading.Thread(target=one, args=(s,)) for s in scenarios[start_at : start_at + at_once]
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=240)

    # ------------------------------------------------------------------ helpers

    def _final(self, export_id: str, wanted: str, timeout: float = 90) -> dict[str, Any]:
        view = self.api.wait_final(export_id, timeout=timeout)
        assert view["status"] == wanted, f"{export_id} ended {view['status']}: {view.get('error')}"
        return view

    def _record(self, export_id: str) -> dict[str, Any]:
        item = self.stack.client("dynamodb").get_item(
            TableName=self.stack.endpoints["table"], Key={"exportId": {"S": export_id}}, ConsistentRead=True
        )
        return dict(item.get("Item", {}))

    def _until(self, what: str, test: Callable[[], Any], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while not (found := test()):
            assert time.monotonic() < deadline, f"never: {what}"
            time.sleep(0.1)
        return found

    def _copying(self, export_id: str) -> tuple[str, str]:
        """Once the copy's upload holds a part: (key, upload id)."""
        upload = self._until(
            "a multipart upload", lambda: self._record(export_id).get("uploadId", {}).get("S")
        )
        key = f"exports/{self._record(export_id)['projectId']['S']}/{export_id}.mp4"

        def parts() -> bool:
            listed = self.s3.list_parts(Bucket=self.bucket, Key=key, UploadId=upload)
            return bool(listed.get("Parts"))

        self._until("an uploaded part", parts)
        return key, upload

    def _exports_of(self, project_id: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.api.url}/exports", params={"projectId": project_id}, timeout=10)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["exports"])

    def _object_exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return False
        return True

    # ------------------------------------------------------------------ the exports

    def export_with_a_webhook_forwarded_to_the_caller(self) -> None:
        """An idempotent POST with a webhookUrl; AI Studios' webhook ends an armed wait early and is
        forwarded, signed, to the caller's endpoint."""
        project, box, key = new_project_id(), secrets.token_hex(6), secrets.token_hex(8)
        outage(self.stack, project)
        body = {"projectId": project, "webhookUrl": inbox_url(self.stack, box)}
        first = self.api.post_export(body, headers={"Idempotency-Key": key})
        again = self.api.post_export(body, headers={"Idempotency-Key": key})
        assert first.status_code == 202, first.text
        assert again.json().get("exportId") == first.json()["exportId"], again.text
        export_id = first.json()["exportId"]
        self._final(export_id, "SUCCEEDED")
        history = execution_of(self.stack, export_id)["history"]
        assert any(e["type"] == "TaskSucceeded" for e in history), "no armed wait was ended by a webhook"
        self._until("a webhook forwarded to the caller", lambda: inbox(self.stack, box), timeout=15)

    def cancel_during_the_copy(self) -> None:
        project = new_project_id()
        self.sim.inject(Fault("slow", route="download", project_id=project, delay=3, for_seconds=120))
        export_id = start(self.api, project)
        key, _ = self._copying(export_id)
        cancelled = requests.delete(f"{self.api.url}/exports/{export_id}", timeout=30)
        assert cancelled.status_code == 200, cancelled.text

        def aborted() -> bool:
            uploads = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix=key).get("Uploads", [])
            return not uploads

        self._until("the upload aborted", aborted)
        assert not self._object_exists(key)

    def cancel_as_the_video_lands(self) -> None:
        """Cancelled while the thumbnail is fetched, after the video was completed: the delivery
        removes the video (and its thumbnail) again."""
        project = new_project_id()
        export_id = start(self.api, project)
        self._until("delivering", lambda: self.api.get_export(export_id).json()["status"] == "DELIVERING")
        self.sim.inject(Fault("slow", route="any", project_id=project, delay=3, for_seconds=120))
        key = f"exports/{project}/{export_id}.mp4"
        self._until("the video in the bucket", lambda: self._object_exists(key))
        cancelled = requests.delete(f"{self.api.url}/exports/{export_id}", timeout=30)
        assert cancelled.status_code == 200, cancelled.text
        self._until("the video removed", lambda: not self._object_exists(key), timeout=30)

    def failed_render(self) -> None:
        project = new_project_id()
        self.sim.inject(Fault("export_fail", project_id=project, at_progress=30))
        self._final(start(self.api, project), "FAILED")

    def execution_stopped_by_hand(self) -> None:
        project = new_project_id()
        self.sim.inject(Fault("export_stall", project_id=project, at_progress=30))
        export_id = start(self.api, project)
        arn = (
            self.stack.endpoints["state_machine_arn"].replace(":stateMachine:", ":execution:")
            + f":{export_id}"
        )
        self._until("rendering", lambda: self.api.get_export(export_id).json()["status"] == "RENDERING")
        self.stack.client("stepfunctions").stop_execution(executionArn=arn, error="Operator", cause="by hand")
        view = self._final(export_id, "CANCELLED", timeout=30)
        assert view["error"]["code"] == "ExecutionAborted", view

    def export_post_without_a_verdict(self) -> None:
        """A 500 on the export POST: kept and marked (StartExport's UpdateItem), asked again by the poll."""
        project = new_project_id()
        self.sim.inject(Fault("http_status", route="export", project_id=project, status=500, times=1))
        export_id = start(self.api, project)
        self._final(export_id, "SUCCEEDED")
        assert self._record(export_id)["startAmbiguous"] == {"BOOL": True}

    def status_change_event_lost(self) -> None:
        """An execution stopped while the safety net's rule is disabled: the reconciler ends its
        export once the deadline (moved into the past here) and the margin have passed."""
        events = self.stack.client("events")
        [rule] = [r["Name"] for r in events.list_rules()["Rules"] if r["Name"].endswith("-execution-ended")]
        project = new_project_id()
        self.sim.inject(Fault("export_stall", project_id=project, at_progress=30))
        export_id = start(self.api, project)
        arn = self._record(export_id)["executionArn"]["S"]
        self._until("rendering", lambda: self.api.get_export(export_id).json()["status"] == "RENDERING")
        events.disable_rule(Name=rule)
        try:
            self.stack.client("stepfunctions").stop_execution(
                executionArn=arn, error="Operator", cause="by hand"
            )
            time.sleep(2)  # the status change seen, and lost
            assert self.api.get_export(export_id).json()["status"] == "RENDERING", "the event was not lost"
        finally:
            events.enable_rule(Name=rule)
        self.stack.client("dynamodb").update_item(
            TableName=self.stack.endpoints["table"],
            Key={"exportId": {"S": export_id}},
            UpdateExpression="SET deadlineAt = :past",
            ExpressionAttributeValues={":past": {"S": "2026-01-01T00:00:00Z"}},
        )
        view = self._final(export_id, "CANCELLED", timeout=40)  # the reconciler runs every 10 s
        assert view["error"]["code"] == "ExecutionAborted", view
        assert start(self.api, project)  # the project is free again

    def second_export_of_a_busy_project(self) -> None:
        """A project already exporting: 409 naming the active export; then that one is cancelled."""
        project = new_project_id()
        self.sim.inject(Fault("export_stall", project_id=project, at_progress=30))
        export_id = start(self.api, project)
        busy = self.api.post_export({"projectId": project})
        assert busy.status_code == 409, busy.text
        assert busy.json()["error"]["activeExportId"] == export_id, busy.text
        cancelled = requests.delete(f"{self.api.url}/exports/{export_id}", timeout=30)
        assert cancelled.status_code == 200, cancelled.text

    def start_ai_studios_refused(self) -> None:
        """AI Studios refuses the export POST (429s): the start is withdrawn, and so is its
        idempotency record."""
        project = new_project_id()
        self.sim.inject(
            Fault("http_status", route="export", project_id=project, status=429, retry_after=0, times=10)
        )
        refused = self.api.post_export(
            {"projectId": project}, headers={"Idempotency-Key": secrets.token_hex(8)}
        )
        assert refused.status_code == 503, refused.text
        assert self._exports_of(project) == []

    def request_file(self) -> None:
        projects = [new_project_id(), new_project_id()]
        name = f"iam-{secrets.token_hex(4)}.json"
        body = json.dumps([{"projectId": p} for p in projects]).encode()
        self.s3.put_object(Bucket=self.bucket, Key=f"requests/{name}", Body=body)

        def result() -> dict[str, Any] | None:
            try:
                answer = self.s3.get_object(Bucket=self.bucket, Key=f"results/{name}.result.json")
            except ClientError:
                return None
            return dict(json.loads(answer["Body"].read()))

        entries = self._until("the request file's result", result)["entries"]
        for entry in entries:  # each entry is queued again, and starts when the queue hands it over
            self._until(
                "the queued export", lambda e=entry: self.api.get_export(e["exportId"]).status_code == 200
            )
            self._final(entry["exportId"], "SUCCEEDED")

    def request_file_gone_before_it_is_read(self) -> None:
        name = f"requests/gone-{secrets.token_hex(4)}.json"
        self.s3.put_object(
            Bucket=self.bucket, Key=name, Body=json.dumps([{"projectId": new_project_id()}]).encode()
        )
        self.s3.delete_object(Bucket=self.bucket, Key=name)

    def export_requested_event(self) -> None:
        project = new_project_id()
        self._request_event(project)
        [export] = self._until("the requested export", lambda: self._exports_of(project))
        self._final(export["exportId"], "SUCCEEDED")

    def request_for_a_busy_project_never_starts(self) -> None:
        """It waits in the queue (its visibility changed for the back-off), then ends FAILED."""
        project = new_project_id()
        table = self.stack.client("dynamodb")
        lease = {"exportId": {"S": f"lease#{project}"}}
        expires = str(int(time.time()) + 3600)
        table.put_item(
            TableName=self.stack.endpoints["table"],
            Item={**lease, "leaseHolder": {"S": "f" * 32}, "leaseExpiresAt": {"N": expires}},
        )
        self._request_event(project)
        try:
            failed = self._until(
                "a FAILED record", lambda: [e for e in self._exports_of(project) if e["status"] == "FAILED"]
            )
            assert failed[0]["error"]["code"] == "ProjectBusy", failed
        finally:
            table.delete_item(TableName=self.stack.endpoints["table"], Key=lease)

    def _request_event(self, project: str) -> None:
        entry = {
            "Source": "com.example.iam-tests",
            "DetailType": "Export Requested",
            "Detail": json.dumps({"projectId": project}),
            "EventBusName": self.stack.endpoints["event_bus"],
        }
        assert self.stack.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0

    def delivery_killed_and_resumed(self) -> None:
        """Lambda kills a Deliver half way (a timeout, an out-of-memory); the retry resumes its upload."""
        project = new_project_id()
        self.sim.inject(Fault("slow", route="download", project_id=project, delay=2, for_seconds=120))
        export_id = start(self.api, project)
        self._copying(export_id)
        [deliver] = [
            p for p in self.stack.supervisor.pools.values() if p.spec.logical_id == "DeliverExportFunction"
        ]
        assert deliver.crash_busy() == 1
        self._final(export_id, "SUCCEEDED")

    def reads_through_the_api(self) -> None:
        """GET an export, the exports of its project, all exports, one status's, and its video
        through the presigned link GET /exports/{id}/video redirects to."""
        project = new_project_id()
        export_id = start(self.api, project)
        self._final(export_id, "SUCCEEDED")
        url = self.api.url
        assert self.api.get_export(export_id).status_code == 200
        assert [e["exportId"] for e in self._exports_of(project)] == [export_id]
        for params in ({}, {"status": "SUCCEEDED"}):
            answer = requests.get(f"{url}/exports", params=params, timeout=10)
            assert answer.status_code == 200, answer.text
        redirect = requests.get(f"{url}/exports/{export_id}/video", allow_redirects=False, timeout=10)
        assert redirect.status_code == 302, redirect.text
        video = requests.get(redirect.headers["Location"], timeout=30)  # signed by GetExport's role
        assert video.status_code == 200, video.text[:300]
        key = f"exports/{project}/{export_id}.mp4"
        assert video.content == self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()


@pytest.fixture(scope="module")
def exercised(stack: LocalDeployment) -> dict[str, str]:
    """Every scenario, run once: what went wrong in each (empty when nothing did)."""
    scenarios = Scenarios(stack)
    scenarios.run(
        scenarios.export_with_a_webhook_forwarded_to_the_caller,
        scenarios.cancel_during_the_copy,
        scenarios.cancel_as_the_video_lands,
        scenarios.failed_render,
        scenarios.execution_stopped_by_hand,
        scenarios.start_ai_studios_refused,
        scenarios.request_file,
        scenarios.request_file_gone_before_it_is_read,
        scenarios.export_requested_event,
        scenarios.request_for_a_busy_project_never_starts,
        scenarios.second_export_of_a_busy_project,
        scenarios.reads_through_the_api,
        scenarios.export_post_without_a_verdict,
    )
    # alone: killing a busy Deliver would kill the other scenarios' deliveries too
    scenarios.run(scenarios.delivery_killed_and_resumed)
    # alone: the safety net's events are lost while it runs
    scenarios.run(scenarios.status_change_event_lost)
    time.sleep(2)  # the safety net's last invocations for the executions that ended
    return scenarios.outcomes


def _shown(call: Call) -> str:
    """A refused call, its partition key values left out (the same refusal for every export)."""
    why = f" [{call.note}]" if call.note else ""
    context = "; ".join(f"{k}={v}" for k, v in call.context if k != "dynamodb:LeadingKeys")
    return f"{call.principal}: {call.action} on {call.resource} ({call.operation}){why}" + (
        f" with {context}" if context else ""
    )


def _excused(unused: Unused) -> bool:
    return any(
        unused.principal == principal and unused.action.startswith(action) and part in unused.resource
        for principal, action, part in NOT_EXERCISED
    )


def test_the_scenarios_end_as_a_user_expects(exercised: dict[str, str]) -> None:
    failed = {name: problem for name, problem in exercised.items() if problem}
    assert not failed, "\n".join(f"{name}: {problem}" for name, problem in sorted(failed.items()))


def test_no_call_was_refused(stack: LocalDeployment, exercised: dict[str, str]) -> None:
    refused: Counter[str] = Counter()
    for call, times in stack.iam.record.counted().items():
        if not call.allowed:
            refused[_shown(call)] += times
    listed = [f"{shown} (x{count})" for shown, count in sorted(refused.items())]
    assert not refused, "calls the roles do not allow:\n" + "\n".join(listed)


def test_every_permission_is_used(stack: LocalDeployment, exercised: dict[str, str]) -> None:
    unused = unused_permissions(stack.iam.principals, stack.iam.record.calls())
    left = sorted(
        f"{u.principal}: {u.action} on {u.resource} ({u.statement})" for u in unused if not _excused(u)
    )
    assert not left, "permissions no call needed:\n" + "\n".join(left)


def test_the_excuses_are_for_permissions_granted_and_unused(
    stack: LocalDeployment, exercised: dict[str, str]
) -> None:
    unused = unused_permissions(stack.iam.principals, stack.iam.record.calls())
    for principal, action, part in NOT_EXERCISED:
        assert any(
            u.principal == principal and u.action.startswith(action) and part in u.resource for u in unused
        ), f"{principal} {action} {part}: used after all, or no longer granted; remove it from NOT_EXERCISED"


def test_the_record_is_written_next_to_the_functions_logs(
    stack: LocalDeployment, exercised: dict[str, str]
) -> None:
    assert stack.options.log_dir is not None
    lines = (stack.options.log_dir / "iam-calls.jsonl").read_text().splitlines()
    assert len(lines) == stack.iam.record.count()
    first = json.loads(lines[0])
    assert set(first) >= {"time", "principal", "operation", "action", "resource", "allowed", "statements"}


def test_a_refused_call_fails_the_function_and_its_log_names_the_error(
    stack: LocalDeployment, exercised: dict[str, str]
) -> None:
    if not stack.iam.enforcing:
        pytest.skip(f"the deployment's IAM mode is {stack.iam.mode}: nothing is refused")
    principals = stack.iam.principals
    getter = principals.by_logical_id("GetExportFunction")
    principals.deny("GetExportFunction", "dynamodb:GetItem")
    try:
        answer = Api(stack).get_export("0" * 32)
    finally:
        getter.local_denies.clear()
    assert answer.status_code == 500, answer.text
    assert stack.options.log_dir is not None
    log = (stack.options.log_dir / f"{getter.session}.log").read_text()
    assert "AccessDeniedException" in log
    assert f"{getter.arn} is not authorized to perform: dynamodb:GetItem" in log


def test_the_state_machine_is_held_to_its_role(stack: LocalDeployment, exercised: dict[str, str]) -> None:
    if not stack.iam.enforcing:
        pytest.skip(f"the deployment's IAM mode is {stack.iam.mode}: nothing is refused")
    machine = stack.iam.principals.by_logical_id("ExportStateMachine")
    poll = stack.supervisor.pools
    [poll_name] = [name for name, pool in poll.items() if pool.spec.logical_id == "PollExportFunction"]
    # the function and its versions (the definition invokes a version), as the grant reads
    stack.iam.principals.deny("ExportStateMachine", "lambda:InvokeFunction", f"*:function:{poll_name}*")
    try:
        api = Api(stack)
        export_id = start(api, new_project_id())
        view = api.wait_final(export_id, timeout=30)
    finally:
        machine.local_denies.clear()
    assert view["status"] == "FAILED", view
    history = execution_of(stack, export_id)["history"]
    failures = [e["taskFailedEventDetails"] for e in history if e["type"] == "TaskFailed"]
    assert failures, "no task failed"
    assert failures[0]["error"] == "Lambda.AccessDeniedException", failures
    assert f"{machine.arn} is not authorized to perform: lambda:InvokeFunction" in failures[0]["cause"]
