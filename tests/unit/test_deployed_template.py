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


WORKFLOW_FUNCTIONS = ("PollExportFunction", "DeliverExportFunction", "RecordFailureFunction")


def _versions(template: dict[str, Any]) -> dict[str, str]:
    """Each workflow function's published version, by the logical id of its version resource."""
    machine = template["Resources"]["ExportStateMachine"]["Properties"]["DefinitionSubstitutions"]
    return {logical: machine[f"{logical}Arn"]["Ref"] for logical in WORKFLOW_FUNCTIONS}


def test_an_execution_invokes_versions_that_outlive_the_next_deploy() -> None:
    """A Standard execution keeps the definition it started with: naming published versions (not a
    function, whose code a deploy replaces, nor an alias, which a deploy moves) pins it to its code,
    and those versions must stay (Retain) and stay invokable by the state machine's role."""
    template = transformed()
    role = template["Resources"]["ExportStateMachineRole"]["Properties"]["Policies"]
    invoke = [
        s["Resource"]
        for p in role
        for s in p["PolicyDocument"]["Statement"]
        if "lambda:InvokeFunction" in s["Action"]
    ]
    for logical, version in _versions(template).items():
        resource = template["Resources"][version]
        assert resource["Type"] == "AWS::Lambda::Version", logical
        assert resource["Properties"]["FunctionName"] == {"Ref": logical}
        assert resource["DeletionPolicy"] == "Retain", f"a deploy would delete {logical}'s running version"
        # the version's ARN is function:NAME:7: only a grant ending in * after the name covers it
        assert {
            "Fn::Sub": [
                "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${functionName}*",
                {"functionName": {"Ref": logical}},
            ]
        } in invoke, logical


@pytest.mark.parametrize(
    ("parameters", "builds", "republished"),
    [
        ((), (("PollExportFunction", "s3://bucket/poll-2.zip"),), {"PollExportFunction"}),
        ((), (("SharedLayer", "s3://bucket/layer-2.zip"),), set(WORKFLOW_FUNCTIONS)),
        ((("DeliveryWorkers", "4"),), (), {"DeliverExportFunction"}),
        ((("PollMaxWaitSeconds", "300"),), (), {"PollExportFunction"}),
        (
            (
                (
                    "ExistingCredentialsSecretArn",
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:c-AbCdEf",
                ),
            ),
            (),
            {"PollExportFunction", "DeliverExportFunction"},
        ),
        ((("NotificationEmail", "ops@example.com"),), (), set()),
    ],
    ids=["handler-code", "layer", "delivery-parameter", "poll-parameter", "credentials-secret", "unrelated"],
)
def test_a_deploy_that_changes_a_workflow_function_publishes_a_new_version_of_it(
    parameters: tuple[tuple[str, str], ...], builds: tuple[tuple[str, str], ...], republished: set[str]
) -> None:
    """New executions must get what a deploy changed, in code, layer or configuration: a version
    that did not change would keep them on the old one. SAM names a version after a hash of its
    function's properties, unresolved (a parameter's new value alone changes nothing: SAM issue
    #3820), hence TEMPLATE_PARAMETERS, which AWS::LanguageExtensions makes literal first."""
    before, after = _versions(transformed()), _versions(transformed("us-east-1", parameters, builds))
    assert {logical for logical in WORKFLOW_FUNCTIONS if before[logical] != after[logical]} == republished


def _parameters_used(value: Any, template: dict[str, Any]) -> set[str]:
    """The template parameters `value` depends on, through Ref, Sub and the conditions of an If."""
    parameters, conditions = template["Parameters"], template.get("Conditions", {})
    if isinstance(value, list):
        return set().union(*(_parameters_used(v, template) for v in value))
    if isinstance(value, str) or not isinstance(value, dict):
        return set()
    if set(value) == {"Ref"}:
        return {value["Ref"]} & set(parameters)
    if set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        names = {name for name in parameters if "${" + name + "}" in text}
        return names | _parameters_used(
            value["Fn::Sub"][1:] if isinstance(value["Fn::Sub"], list) else [], template
        )
    if set(value) == {"Condition"}:
        return _parameters_used(conditions[value["Condition"]], template)
    if set(value) == {"Fn::If"}:
        condition, *branches = value["Fn::If"]
        return _parameters_used(conditions[condition], template) | _parameters_used(branches, template)
    return set().union(*(_parameters_used(v, template) for v in value.values()))


@pytest.mark.parametrize("logical", WORKFLOW_FUNCTIONS)
def test_template_parameters_lists_every_parameter_its_function_is_published_with(logical: str) -> None:
    """What keeps a parameter's new value from being left out of the version the workflow runs."""
    template = transformed()
    props = template["Resources"][logical]["Properties"]
    variables = dict(props.get("Environment", {}).get("Variables", {}))
    listed = json.loads(variables.pop("TEMPLATE_PARAMETERS", "{}"))
    assert _parameters_used(props, template) == set(listed), (
        f"{logical}: TEMPLATE_PARAMETERS lacks or has extra"
    )
