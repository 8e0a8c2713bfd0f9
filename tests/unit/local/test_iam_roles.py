"""Each function's and the state machine's role, from template.yaml through the SAM transform, its
intrinsics resolved against the local resources' names and ARNs (planned as the provisioner plans
them, nothing created)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.stack.iam import RolePlan, transformed
from local.stack.iam.policy import evaluate
from local.stack.iam.roles import resolve
from local.stack.options import DeploymentOptions
from local.stack.provisioner import RUNNERS, _plan, _pseudo_parameters
from local.stack.resources import Context
from local.stack.template import Resolver, load_template, resources_of_type

pytestmark = pytest.mark.unit
REGION = "us-east-1"


def planned(**parameters: str) -> tuple[RolePlan, Resolver]:
    template, options = load_template(), DeploymentOptions()
    defaults = {"ExistingCredentialsSecretArn": "", "ConfigureApiGatewayLogging": "false"}
    resolver = Resolver(template, defaults | parameters, _pseudo_parameters(options))
    ctx = Context(resolver, options, lambda service: None, {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, "abcd")
    resolver.physical = _plan(ctx)
    sessions = {
        logical: resolver.physical[logical].attrs.get("Name", resolver.physical[logical].ref)
        for kind in RUNNERS
        for logical in resources_of_type(template, kind)
    }
    plan = RolePlan.plan(transformed(template, resolver.parameters, REGION), options.stack_name, sessions)
    plan.resolve(resolver)
    return plan, resolver


def _strings_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all(
            not key.startswith("Fn::") and key != "Ref" and _strings_only(v) for key, v in value.items()
        )
    if isinstance(value, list):
        return all(_strings_only(v) for v in value)
    return isinstance(value, str | bool | int)


@pytest.mark.parametrize(
    "parameters",
    [
        {},
        {"ExistingCredentialsSecretArn": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:mine-AbCdEf"},
    ],
    ids=["stack-secret", "existing-secret"],
)
def test_every_function_and_the_state_machine_get_their_own_resolved_role(parameters: dict[str, str]) -> None:
    plan, _ = planned(**parameters)
    template = load_template()
    runners = {logical for kind in RUNNERS for logical in resources_of_type(template, kind)}
    assert set(plan.principals) == runners
    assert len({p.role_name for p in plan.principals.values()}) == len(runners)
    assert len({p.access_key_id for p in plan.principals.values()}) == len(runners)
    for logical, documents in plan.documents.items():
        assert documents, f"{logical} has no inline policy"
        for name, document in documents:
            assert _strings_only(document), f"{logical} {name}: {json.dumps(document)}"
            assert "\x00" not in json.dumps(document), f"{logical} {name} kept an AWS::NoValue"


def test_the_state_machine_may_invoke_its_functions_and_arm_its_wait() -> None:
    plan, resolver = planned()
    machine = plan.principals["ExportStateMachine"]
    for function in ("PollExportFunction", "DeliverExportFunction", "RecordFailureFunction"):
        # the definition names the published version (function:NAME:1), Ref X.Version
        version = resolver.resolve({"Ref": f"{function}.Version"})
        assert version == resolver.physical[function].attrs["Arn"] + ":1"
        assert evaluate(machine.policies, "lambda:InvokeFunction", version, {}).allowed, function
        alias = resolver.resolve({"Ref": f"{function}.Alias"})
        assert alias == resolver.physical[function].attrs["Arn"] + ":live"
    assert not evaluate(
        machine.policies, "lambda:InvokeFunction", resolver.physical["StartExportFunction"].attrs["Arn"], {}
    ).allowed
    table = resolver.physical["ExportsTable"].attrs["Arn"]
    assert evaluate(machine.policies, "dynamodb:UpdateItem", table, {}).allowed
    assert machine.arn.startswith(
        "arn:aws:sts::123456789012:assumed-role/aistudios-export-local-ExportStateMachineRole/"
    )


def test_the_managed_policies_sam_attaches_come_with_the_role() -> None:
    plan, _ = planned()
    consumer = plan.principals["StartRequestedExportsFunction"]
    assert {p.name for p in consumer.managed} >= {
        "AWSLambdaBasicExecutionRole",
        "AWSLambdaSQSQueueExecutionRole",
    }
    queue = "arn:aws:sqs:us-east-1:123456789012:aistudios-export-local-request-queue"
    assert evaluate(consumer.policies, "sqs:ReceiveMessage", queue, {}).allowed
    assert not evaluate(
        plan.principals["GetExportFunction"].policies, "sqs:ReceiveMessage", queue, {}
    ).allowed


def test_no_value_is_left_out_where_a_condition_says_so() -> None:
    resolver = Resolver({"Conditions": {"No": {"Fn::Equals": ["a", "b"]}}}, {}, {})
    document = {
        "Statement": [{"Fn::If": ["No", {"Effect": "Allow"}, {"Ref": "AWS::NoValue"}]}, {"Effect": "Deny"}]
    }
    assert resolve(resolver, document) == {"Statement": [{"Effect": "Deny"}]}
