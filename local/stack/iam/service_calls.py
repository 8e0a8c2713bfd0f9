"""The other services' requests as IAM actions: Step Functions, SQS, SNS, EventBridge, Secrets
Manager, KMS and Lambda (each service's "Actions, resources, and condition keys" page in the Service
Authorization Reference). A JSON-protocol operation is its own action, but for SQS's batches (their
single action) and Step Functions' task tokens, which are authorised on the state machine whose
execution issued them."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from ..resources.base import ACCOUNT
from .calls import Check, Lookups, Plan, Unmapped
from .request import Request

_SQS_BATCHES = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_TASK_TOKENS = {"SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"}


def arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def plan_states(request: Request, lookups: Lookups) -> Plan:
    operation, params = request.target, request.json
    action = f"states:{operation}"
    if operation in _TASK_TOKENS:
        machine = lookups.state_machine_of_token(request.region, str(params.get("taskToken", "")))
        # a token no execution issued: Step Functions itself answers (InvalidToken)
        return Plan(operation, [Check(action, machine)] if machine else [])
    for name in ("executionArn", "stateMachineArn", "activityArn", "resourceArn", "mapRunArn"):
        if params.get(name):
            return Plan(operation, [Check(action, str(params[name]))])
    return Plan(operation, [Check(action, "*")])


def queue_arn(region: str, url_or_name: str) -> str:
    path = urlsplit(url_or_name).path.strip("/") if "/" in url_or_name else url_or_name
    account, _, name = path.rpartition("/")
    return f"arn:aws:sqs:{region}:{account or ACCOUNT}:{name}"


def plan_sqs(request: Request, lookups: Lookups) -> Plan:
    # the JSON protocol (boto3), or the query protocol older clients still speak
    params = request.json if request.target else dict(request.form)
    operation = request.target or str(params.get("Action", ""))
    action = f"sqs:{_SQS_BATCHES.get(operation, operation)}"
    queue = params.get("QueueUrl") or params.get("QueueName")
    if queue:
        return Plan(operation, [Check(action, queue_arn(request.region, str(queue)))])
    return Plan(operation, [Check(action, "*")])


def plan_sns(request: Request, lookups: Lookups) -> Plan:
    params = request.form
    operation = params.get("Action", "")
    if not operation:
        raise Unmapped("SNS request without an Action")
    action = "sns:Publish" if operation == "PublishBatch" else f"sns:{operation}"
    target = params.get("TopicArn") or params.get("TargetArn") or params.get("ResourceArn")
    if target is None and operation in (
        "Unsubscribe",
        "SetSubscriptionAttributes",
        "GetSubscriptionAttributes",
    ):
        target = params.get("SubscriptionArn", "").rsplit(":", 1)[0] or None
    return Plan(operation, [Check(action, target or "*")])


def bus_arn(region: str, bus: str | None) -> str:
    if bus and bus.startswith("arn:"):
        return bus
    return arn("events", region, f"event-bus/{bus or 'default'}")


def plan_events(request: Request, lookups: Lookups) -> Plan:
    operation, params = request.target, request.json
    if operation == "PutEvents":
        checks = [
            Check(
                "events:PutEvents",
                bus_arn(request.region, entry.get("EventBusName")),
                {
                    "events:source": str(entry.get("Source", "")),
                    "events:detail-type": str(entry.get("DetailType", "")),
                },
            )
            for entry in params.get("Entries", [])
        ]
        return Plan(operation, checks)
    if params.get("Name") and "Rule" in operation:
        rule = (
            f"rule/{params['EventBusName']}/{params['Name']}"
            if params.get("EventBusName")
            else f"rule/{params['Name']}"
        )
        return Plan(operation, [Check(f"events:{operation}", arn("events", request.region, rule))])
    return Plan(
        operation,
        [
            Check(
                f"events:{operation}",
                bus_arn(request.region, params.get("EventBusName") or params.get("Name")),
            )
        ],
    )


def plan_secretsmanager(request: Request, lookups: Lookups) -> Plan:
    operation, params = request.target, request.json
    secret_id = params.get("SecretId")
    if not secret_id:
        return Plan(operation, [Check(f"secretsmanager:{operation}", "*")])
    found = lookups.secret(request.region, str(secret_id))
    resource = found.arn if found else arn("secretsmanager", request.region, f"secret:{secret_id}")
    plan = Plan(operation, [Check(f"secretsmanager:{operation}", resource)])
    if operation == "GetSecretValue":
        plan.secret_id = str(secret_id)
    return plan


def plan_kms(request: Request, lookups: Lookups) -> Plan:
    operation, params = request.target, request.json
    context: dict[str, str | list[str]] = {"kms:CallerAccount": ACCOUNT}
    encryption = params.get("EncryptionContext") or {}
    for name, value in encryption.items():
        context[f"kms:EncryptionContext:{name}"] = str(value)
    if encryption:
        context["kms:EncryptionContextKeys"] = sorted(encryption)
    key = params.get("KeyId")
    resource = lookups.key_arn(request.region, str(key)) if key else arn("kms", request.region, "key/*")
    return Plan(operation, [Check(f"kms:{operation}", resource, context)])


def function_arn(region: str, name: str, qualifier: str | None = None) -> str:
    """The ARN IAM authorises a Lambda call on, from any of the API's forms of FunctionName (name,
    `name:qualifier`, partial or full ARN) and its Qualifier: a version's or alias's own ARN, which
    a policy naming only `function:NAME` does not match (the Lambda developer guide's "Fine-tuning
    the Resources and Conditions sections of policies")."""
    if not name.startswith("arn:"):
        parts = name.split(":")
        account, name = (parts[0], ":".join(parts[2:])) if len(parts) >= 3 else (ACCOUNT, name)
        name = f"arn:aws:lambda:{region}:{account}:function:{name}"
    if qualifier and name.count(":") == 6:
        name = f"{name}:{qualifier}"
    return name


def plan_lambda(request: Request, lookups: Lookups) -> Plan:
    parts = request.path.strip("/").split("/")
    if len(parts) >= 3 and parts[1] == "functions":
        function = function_arn(request.region, unquote(parts[2]), request.param("Qualifier"))
        if len(parts) == 4 and parts[3] == "invocations" and request.method == "POST":
            return Plan("Invoke", [Check("lambda:InvokeFunction", function)])
        if len(parts) == 3 and request.method == "GET":
            return Plan("GetFunction", [Check("lambda:GetFunction", function)])
    if parts[1:] == ["functions"] and request.method == "GET":
        return Plan("ListFunctions", [Check("lambda:ListFunctions", "*")])
    raise Unmapped(f"Lambda {request.method} {request.path}")


PLANNERS: dict[str, Callable[[Request, Lookups], Plan]] = {
    "states": plan_states,
    "sqs": plan_sqs,
    "sns": plan_sns,
    "events": plan_events,
    "secretsmanager": plan_secretsmanager,
    "kms": plan_kms,
    "lambda": plan_lambda,
}
