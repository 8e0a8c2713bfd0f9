"""DynamoDB's requests as IAM actions on tables and indexes, with its fine-grained access keys
(DynamoDB Developer Guide, "Using IAM policy conditions for fine-grained access control"):
`dynamodb:LeadingKeys` (the partition key values the request touches), `dynamodb:Attributes` (the
top-level attributes it names: key, item, projection, update and condition expressions),
`dynamodb:Select`, `dynamodb:ReturnValues` (NONE unless given, on writes) and
`dynamodb:ReturnConsumedCapacity`. A transaction needs each item's own action on its table."""

from __future__ import annotations

import base64
import re
from typing import Any

from ..resources.base import ACCOUNT
from .calls import Check, ContextValue, Lookups, Plan, Unmapped
from .request import Request

_ITEM_OPERATIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_TABLE_OPERATIONS = {
    "DescribeTable", "CreateTable", "DeleteTable", "UpdateTable", "DescribeTimeToLive",
    "UpdateTimeToLive", "DescribeContinuousBackups", "UpdateContinuousBackups",
}  # fmt: skip
_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_EXPRESSIONS = (
    "ProjectionExpression", "UpdateExpression", "ConditionExpression",
    "KeyConditionExpression", "FilterExpression",
)  # fmt: skip
_TOKEN = re.compile(r"[#:]?[A-Za-z_][A-Za-z0-9_]*|\S")
_KEYWORDS = {"set", "remove", "add", "delete", "and", "or", "not", "in", "between"}


def table_arn(region: str, table: str) -> str:
    if table.startswith("arn:"):
        return table
    return f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}"


def plan_dynamodb(request: Request, lookups: Lookups) -> Plan:
    operation, params, region = request.target, request.json, request.region
    if operation in _ITEM_OPERATIONS or operation in ("Query", "Scan"):
        return Plan(operation, [_item_check(operation, params, region, lookups)])
    if operation in ("TransactWriteItems", "TransactGetItems"):
        checks = []
        for entry in params.get("TransactItems", []):
            for kind, item in entry.items():
                action = "GetItem" if kind == "Get" else _TRANSACT.get(kind)
                if action is None:
                    raise Unmapped(f"DynamoDB {operation} item {kind}")
                checks.append(_item_check(action, item, region, lookups))
        return Plan(operation, checks)
    if operation in ("BatchWriteItem", "BatchGetItem"):
        tables = params.get("RequestItems", {})
        return Plan(operation, [Check(f"dynamodb:{operation}", table_arn(region, t)) for t in tables])
    if operation in _TABLE_OPERATIONS:
        return Plan(operation, [Check(f"dynamodb:{operation}", table_arn(region, params["TableName"]))])
    if operation in ("ListTables", "DescribeEndpoints", "DescribeLimits"):
        return Plan(operation, [Check(f"dynamodb:{operation}", "*")])
    raise Unmapped(f"DynamoDB {operation}")


def _item_check(action: str, params: dict[str, Any], region: str, lookups: Lookups) -> Check:
    table = str(params.get("TableName", ""))
    resource = table_arn(region, table)
    if params.get("IndexName"):
        resource += f"/index/{params['IndexName']}"
    keys = lookups.table_keys(region, table)
    context: dict[str, ContextValue] = {}
    leading = _leading_keys(params, keys)
    if leading is not None:
        context["dynamodb:LeadingKeys"] = leading
    context["dynamodb:Attributes"] = sorted(_attributes(params, keys))
    if action in ("Query", "Scan"):
        context["dynamodb:Select"] = params.get("Select") or (
            "SPECIFIC_ATTRIBUTES" if params.get("ProjectionExpression") else "ALL_ATTRIBUTES"
        )
    if action in _WRITES:
        context["dynamodb:ReturnValues"] = params.get("ReturnValues") or "NONE"
    if params.get("ReturnConsumedCapacity"):
        context["dynamodb:ReturnConsumedCapacity"] = params["ReturnConsumedCapacity"]
    return Check(f"dynamodb:{action}", resource, context)


def _scalar(value: Any) -> str:
    """An AttributeValue as the condition key sees it: its string form."""
    if isinstance(value, dict) and value:
        kind, raw = next(iter(value.items()))
        if kind == "B":
            return raw if isinstance(raw, str) else base64.b64encode(raw).decode()
        return str(raw)
    return str(value)


def _leading_keys(params: dict[str, Any], keys: tuple[str, str | None] | None) -> list[str] | None:
    if keys is None:
        return None
    partition = keys[0]
    item = params.get("Key") or params.get("Item")
    if isinstance(item, dict) and partition in item:
        return [_scalar(item[partition])]
    expression = params.get("KeyConditionExpression")
    if expression:  # Query: the value the partition key is compared with
        names = {v: k for k, v in params.get("ExpressionAttributeNames", {}).items()}
        alias = re.escape(names.get(partition, partition))
        found = re.search(rf"(?:^|[\s(]){alias}\s*=\s*(:\w+)", expression)
        if found and found.group(1) in params.get("ExpressionAttributeValues", {}):
            return [_scalar(params["ExpressionAttributeValues"][found.group(1)])]
    return None


def _attributes(params: dict[str, Any], keys: tuple[str, str | None] | None) -> set[str]:
    names: set[str] = set()
    for field in ("Key", "Item"):
        if isinstance(params.get(field), dict):
            names |= set(params[field])
    names |= set(params.get("AttributesToGet") or [])
    aliases = params.get("ExpressionAttributeNames") or {}
    for field in _EXPRESSIONS:
        if params.get(field):
            names |= expression_attributes(str(params[field]), aliases)
    if keys and params.get("Key"):
        names |= {k for k in keys if k}
    return names


def expression_attributes(expression: str, aliases: dict[str, str]) -> set[str]:
    """The top-level attribute names an expression refers to (`a.b[0]` is `a`)."""
    found, previous = set(), ""
    tokens = _TOKEN.findall(expression)
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        nested = previous == "."
        if token.startswith("#") and not nested:
            found.add(aliases.get(token, token))
        elif (
            (token[0].isalpha() or token[0] == "_")
            and not nested
            and following != "("
            and token.lower() not in _KEYWORDS
        ):
            found.add(token)
        previous = token
    return found
