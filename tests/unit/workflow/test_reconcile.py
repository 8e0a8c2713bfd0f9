"""The reconciler against moto in-process: open exports past their deadline whose execution ended
without a status-change event reaching the safety net."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from aistudios_export import ExportRequest, ExportStatus
from aistudios_export.clock import parse_iso
from aistudios_export.workflow import reconcile as reconciler
from aistudios_export.workflow.endings import record_execution_end
from aistudios_export.workflow.payloads import describe_execution_end
from aistudios_export.workflow.start import LEASE_MARGIN_SECONDS, start_export
from tests.helpers import new_project_id
from tests.unit.aws_resources import Resources

pytestmark = pytest.mark.unit
MARGIN = 600  # RECONCILE_MARGIN_SECONDS in template.yaml


@pytest.fixture
def env() -> Iterator[Resources]:
    """Exports whose executions wait (whether or not moto runs the definition) until stopped."""
    with mock_aws():
        sfn = boto3.client("stepfunctions")
        waits = sfn.create_state_machine(
            name="waits",
            definition=json.dumps(
                {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}
            ),
            roleArn="arn:aws:iam::123456789012:role/export",
        )["stateMachineArn"]
        resources = Resources(RECONCILE_MARGIN_SECONDS=str(MARGIN), STATE_MACHINE_ARN=waits)
        yield resources
        for execution in sfn.list_executions(stateMachineArn=waits, statusFilter="RUNNING")["executions"]:
            sfn.stop_execution(executionArn=execution["executionArn"])


def _started(env: Resources, project_id: str | None = None) -> str:
    record = start_export(env.adapters, ExportRequest(projectId=project_id or new_project_id()))
    env.aistudios.exports.clear()
    return record.export_id


def _stopped_by_hand(env: Resources, export_id: str) -> None:
    """The execution ends outside the failure path, and its status-change event never comes."""
    arn = env.adapters.store.get(export_id).execution_arn
    env.sfn.stop_execution(executionArn=arn, error="Console", cause="stopped by an operator")
    # where moto runs the definition, the stop reaches the execution's thread a moment later
    deadline = time.monotonic() + 10
    while env.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution never stopped"
        time.sleep(0.05)


def _after_deadline(env: Resources, export_id: str, seconds: float) -> object:
    return parse_iso(env.adapters.store.get(export_id).deadline_at) + timedelta(seconds=seconds)


def test_an_export_whose_execution_ended_unheard_is_ended_once_its_deadline_and_margin_passed(
    env: Resources,
) -> None:
    export_id = _started(env)
    project_id = env.adapters.store.get(export_id).project_id
    _stopped_by_hand(env, export_id)

    early = reconciler.reconcile(env.adapters, now=_after_deadline(env, export_id, MARGIN - 30))
    assert early.checked == 0
    assert not early.ended
    assert env.adapters.store.get(export_id).status is ExportStatus.REQUESTED

    run = reconciler.reconcile(env.adapters, now=_after_deadline(env, export_id, MARGIN + 30))
    assert run.checked == 1
    assert [e.record.export_id for e in run.ended] == [export_id]
    record = env.adapters.store.get(export_id)
    assert record.status is ExportStatus.CANCELLED  # ABORTED, as the safety net would have said
    said = describe_execution_end(env.sfn.describe_execution(executionArn=record.execution_arn))
    assert record.error == {"code": said.code, "message": said.message}
    assert record.notified
    assert env.adapters.store.lease_holder(project_id) is None  # the project is free again
    notes = env.notifications()
    assert [n["body"]["exportId"] for n in notes] == [export_id]
    changes = [e["detail"]["status"] for e in env.bus_events() if e["detail"].get("exportId") == export_id]
    assert changes[-1:] == ["CANCELLED"]

    # the next run, and the event arriving after all, change nothing and notify no one again
    again = reconciler.reconcile(env.adapters, now=_after_deadline(env, export_id, MARGIN + 330))
    assert again.checked == 0
    assert not again.ended
    late = record_execution_end(
        env.adapters,
        export_id,
        describe_execution_end({"status": "ABORTED"}),
        record.execution_arn,
    )
    assert late is not None
    assert not late.changed
    assert env.notifications() == []


def test_a_running_execution_past_its_deadline_is_left_to_deliver_until_its_lease_ends(
    env: Resources,
) -> None:
    export_id = _started(env)
    delivering = reconciler.reconcile(env.adapters, now=_after_deadline(env, export_id, MARGIN + 30))
    assert delivering.checked == 1
    assert not delivering.ended
    assert env.adapters.store.get(export_id).status is ExportStatus.REQUESTED

    run = reconciler.reconcile(env.adapters, now=_after_deadline(env, export_id, LEASE_MARGIN_SECONDS + 1))
    assert [e.record.status for e in run.ended] == [ExportStatus.TIMED_OUT]
    record = env.adapters.store.get(export_id)
    assert record.error is not None
    assert record.error["code"] == "ExecutionOverdue"
    execution = env.sfn.describe_execution(executionArn=record.execution_arn)
    assert execution["status"] == "ABORTED"  # stopped, so it cannot deliver after another export began
    assert len(env.notifications()) == 1


def test_an_export_whose_execution_never_started_is_ended_failed(env: Resources) -> None:
    export_id = _started(env)
    env.table.update_item(
        Key={"exportId": export_id},
        UpdateExpression="SET executionArn = :arn",
        ExpressionAttributeValues={
            ":arn": env.adapters.settings.state_machine_arn.replace(":stateMachine:", ":execution:")
            + ":never-started"
        },
    )
    run = reconciler.reconcile(env.adapters, now=_after_deadline(env, export_id, MARGIN + 1))
    assert [e.record.error for e in run.ended] == [
        {"code": "ExecutionNotFound", "message": reconciler.NO_EXECUTION.message}
    ]
    assert env.adapters.store.get(export_id).status is ExportStatus.FAILED


def test_final_exports_and_those_not_yet_due_are_not_looked_at(env: Resources) -> None:
    due, finished, young = _started(env), _started(env), _started(env)
    for export_id in (due, finished):
        _stopped_by_hand(env, export_id)
    env.adapters.store.mark_failed(finished, ExportStatus.FAILED, "ExportFailed", "ended the usual way")
    now = _after_deadline(env, due, MARGIN + 1)
    env.table.update_item(  # requested later: its deadline is still ahead at `now`
        Key={"exportId": young},
        UpdateExpression="SET deadlineAt = :d",
        ExpressionAttributeValues={":d": "2999-01-01T00:00:00Z"},
    )
    run = reconciler.reconcile(env.adapters, now=now)
    assert run.checked == 1
    assert [e.record.export_id for e in run.ended] == [due]


def test_a_run_checks_at_most_its_share_and_leaves_the_rest_to_the_next(
    env: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reconciler, "MAX_PER_RUN", 2)
    exports = [_started(env) for _ in range(3)]
    for export_id in exports:
        _stopped_by_hand(env, export_id)
    now = max(_after_deadline(env, e, MARGIN + 1) for e in exports)  # type: ignore[type-var]
    first = reconciler.reconcile(env.adapters, now=now)
    second = reconciler.reconcile(env.adapters, now=now)
    assert (first.checked, second.checked) == (2, 1)
    assert sorted(e.record.export_id for e in first.ended + second.ended) == sorted(exports)
