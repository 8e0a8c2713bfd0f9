"""What CloudFormation deploys: the SAM-transformed template, where some defects only appear."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.sam_transform import resources_of_type, strings, transformed

pytestmark = pytest.mark.unit


def _integrations(template: dict[str, Any]) -> list[dict[str, Any]]:
    api = resources_of_type(template, "AWS::ApiGateway::RestApi")["ExportsApi"]["Properties"]["Body"]
    return [
        operation["x-amazon-apigateway-integration"]
        for path in api["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "x-amazon-apigateway-integration" in operation
    ]


def test_callers_need_only_execute_api_invoke() -> None:
    """No integration calls Lambda with the caller's own credentials (SAM's default with AWS_IAM)."""
    integrations = _integrations(transformed())
    assert len(integrations) >= 3
    for integration in integrations:
        assert "credentials" not in integration, integration
    permissions = resources_of_type(transformed(), "AWS::Lambda::Permission")
    assert permissions, "API Gateway must be allowed to invoke the functions itself"


def test_exactly_one_stage_with_throttling_and_access_logs() -> None:
    template = transformed()
    stages = resources_of_type(template, "AWS::ApiGateway::Stage")
    assert len(stages) == 1
    [stage] = stages.values()
    assert stage["Properties"]["StageName"] == "v1"
    assert stage["Properties"]["AccessLogSetting"]["DestinationArn"]
    [settings] = stage["Properties"]["MethodSettings"]
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] > 0
    for deployment in resources_of_type(template, "AWS::ApiGateway::Deployment").values():
        assert "StageName" not in deployment["Properties"], "an implicit stage named 'Stage' is created"


@pytest.mark.parametrize("region", ["cn-north-1", "us-gov-west-1"])
def test_every_arn_follows_the_partition(region: str) -> None:
    """Transformed outside the aws partition, no `arn:aws:` may remain: SAM's own ARNs follow the
    region it runs in, so any left would be ours, hard-coded."""
    template = transformed(region)
    literals = [s for s in strings(template["Resources"]) if "arn:aws:" in s]
    assert literals == []


def test_the_state_machine_definition_takes_the_partition_from_the_stack() -> None:
    machine = resources_of_type(transformed(), "AWS::StepFunctions::StateMachine")["ExportStateMachine"]
    props = machine["Properties"]
    definition = json.dumps(props.get("Definition") or props.get("DefinitionString"))
    assert "arn:aws:states" not in definition
    assert props["DefinitionSubstitutions"]["Partition"] == {"Ref": "AWS::Partition"}
