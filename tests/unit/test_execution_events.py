"""The local deployment's Step Functions status-change events match the template's rule as AWS's do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from local.stack.execution_events import matches, status_change
from local.stack.template import load_template
from tests.helpers import load_event

pytestmark = pytest.mark.unit
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:aistudios-export-ExportStateMachine"


def _rule_pattern() -> dict[str, object]:
    template = load_template()
    event = template["Resources"]["RecordFailureFunction"]["Properties"]["Events"]["ExecutionEnded"]
    pattern = dict(event["Properties"]["Pattern"])
    pattern["detail"] = dict(pattern["detail"]) | {"stateMachineArn": [MACHINE]}  # !Ref, resolved
    return pattern


def test_the_sample_event_and_a_generated_one_match_the_safety_net_rule() -> None:
    pattern = _rule_pattern()
    assert matches(pattern, load_event("record_failure_execution_aborted"))
    execution = {
        "executionArn": MACHINE.replace(":stateMachine:", ":execution:") + ":e1",
        "stateMachineArn": MACHINE,
        "name": "e1",
        "status": "ABORTED",
        "startDate": datetime(2026, 11, 28, tzinfo=UTC),
        "stopDate": datetime(2026, 11, 28, 0, 1, tzinfo=UTC),
    }
    event = status_change(execution, "123456789012", "us-east-1")
    assert matches(pattern, event)
    assert set(event) == set(load_event("record_failure_execution_aborted"))
    assert set(event["detail"]) == set(load_event("record_failure_execution_aborted")["detail"])
    assert event["detail"]["stopDate"] == 1795824060000


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED"])
def test_statuses_the_rule_does_not_want_are_not_delivered(status: str) -> None:
    event = load_event("record_failure_execution_aborted")
    event["detail"]["status"] = status
    assert not matches(_rule_pattern(), event)


def test_another_state_machines_executions_are_not_delivered() -> None:
    event = load_event("record_failure_execution_aborted")
    event["detail"]["stateMachineArn"] = MACHINE + "-other"
    assert not matches(_rule_pattern(), event)
