"""The webhook path as deployed: one open route, least privilege, the ASL's wait held to the model."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from aistudios_export import ExportRecord, ExportStatus
from local.stack.template import load_template, resources_of_type
from tests.helpers import REPO, policy_statements
from tests.unit.sam_transform import resources_of_type as transformed_of_type
from tests.unit.sam_transform import transformed

pytestmark = pytest.mark.unit

TEMPLATE = load_template()
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
MACHINE = TEMPLATE["Resources"]["ExportStateMachine"]["Properties"]
WAIT = json.loads((REPO / "statemachine" / "export.asl.json").read_text())["States"][
    "Wait for render or webhook"
]


def _statements(function: str) -> list[dict[str, Any]]:
    return policy_statements(FUNCTIONS[function]["Properties"]["Policies"])


def test_only_the_webhook_route_is_open_and_every_other_needs_iam(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    api = transformed_of_type(transformed(), "AWS::ApiGateway::RestApi")["ExportsApi"]["Properties"]["Body"]
    security = {
        (path, method): operation.get("security")
        for path, operations in api["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict)
    }
    open_routes = {route for route, needs in security.items() if needs != [{"AWS_IAM": []}]}
    assert open_routes == {("/webhooks/{exportId}/{token}", "post")}


def test_the_receiver_may_end_waits_of_this_state_machine_only() -> None:
    statements = _statements("ReceiveWebhookFunction")
    [send] = [s for s in statements if "states:SendTaskSuccess" in json.dumps(s["Action"])]
    assert send["Action"] == "states:SendTaskSuccess"
    assert send["Resource"] == {"Ref": "ExportStateMachine"}
    actions = {
        a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert actions == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "states:SendTaskSuccess",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
    }
    env = FUNCTIONS["ReceiveWebhookFunction"]["Properties"]["Environment"]["Variables"]
    assert env["WEBHOOK_SIGNING_SECRET_ID"] == {"Ref": "WebhookSigningSecret"}


def test_the_state_machine_may_store_its_wait_token_in_the_exports_table_only() -> None:
    assert MACHINE["DefinitionSubstitutions"]["ExportsTableName"] == {"Ref": "ExportsTable"}
    assert WAIT["Parameters"]["TableName"] == "${ExportsTableName}"
    statements = [s for p in MACHINE["Policies"] for s in p.get("Statement", [])]
    [update] = [s for s in statements if s["Action"] == "dynamodb:UpdateItem"]
    assert update["Resource"] == {"Fn::GetAtt": ["ExportsTable", "Arn"]}


def test_webhooks_are_a_parameter_the_start_step_reads_on_by_default() -> None:
    parameter = TEMPLATE["Parameters"]["WebhooksEnabled"]
    assert parameter["Default"] == "true"
    assert set(parameter["AllowedValues"]) == {"true", "false"}
    env = FUNCTIONS["StartExportFunction"]["Properties"]["Environment"]["Variables"]
    assert env["WEBHOOKS_ENABLED"] == {"Ref": "WebhooksEnabled"}
    secret = TEMPLATE["Resources"]["WebhookSigningSecret"]["Properties"]["GenerateSecretString"]
    assert secret["PasswordLength"] >= 32
    assert TEMPLATE["Outputs"]["WebhookSigningSecretArn"]["Value"] == {"Ref": "WebhookSigningSecret"}


def test_the_interruptible_wait_speaks_the_records_language() -> None:
    """Attribute names and statuses in the ASL are the ones the model writes and reads."""
    item = ExportRecord(
        "0" * 32,
        "1" * 24,
        "1080",
        webhook_token_hash="h",
        webhook_confirmed_at="t",
        wait_token="w",
    ).to_item()
    update, condition = WAIT["Parameters"]["UpdateExpression"], WAIT["Parameters"]["ConditionExpression"]
    assert re.fullmatch(r"SET (\w+) = :token", update).group(1) in item  # type: ignore[union-attr]
    assert ExportRecord.from_item({**item, "waitToken": "w2"}).wait_token == "w2"
    for name in re.findall(r"attribute_(?:not_)?exists\((\w+)\)", condition):
        assert name in item, name
    statuses = {v["S"] for k, v in WAIT["Parameters"]["ExpressionAttributeValues"].items() if "S" in v}
    assert statuses == {ExportStatus.REQUESTED.value, ExportStatus.RENDERING.value}
    assert WAIT["Parameters"]["ExpressionAttributeValues"][":token"] == {"S.$": "$$.Task.Token"}
    assert WAIT["Resource"] == "arn:${Partition}:states:::aws-sdk:dynamodb:updateItem.waitForTaskToken"
    assert WAIT["TimeoutSecondsPath"] == "$.poll.nextWaitSeconds"  # the planned wait, no longer
    assert WAIT["ResultPath"] is None  # the poll's state goes on unchanged


def test_the_internet_facing_receiver_may_only_take_a_webhook_event() -> None:
    """Its UpdateItem names only the attributes claim_webhook_event touches and cannot read the
    record back through the update; its kms:Decrypt (only for an existing credentials secret) is
    held to that secret's encryption context."""
    statements = _statements("ReceiveWebhookFunction")
    [update] = [s for s in statements if s["Action"] == "dynamodb:UpdateItem"]
    condition = update["Condition"]
    assert condition["ForAllValues:StringEquals"]["dynamodb:Attributes"] == [
        "exportId",
        "status",
        "webhookEvents",
        "webhookConfirmedAt",
        "webhookRefusals",
    ]
    assert "ALL_NEW" not in condition["StringEqualsIfExists"]["dynamodb:ReturnValues"]
    [decrypt] = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert decrypt["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] == {
        "Ref": "ExistingCredentialsSecretArn"
    }
    [conditional] = [
        s
        for p in FUNCTIONS["ReceiveWebhookFunction"]["Properties"]["Policies"]
        for s in p["Statement"]
        if "Fn::If" in s
    ]
    assert conditional["Fn::If"][0] == "UseExistingCredentialsSecret"
