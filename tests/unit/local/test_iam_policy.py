"""The local IAM evaluator: explicit Deny, then Allow, else implicit deny; actions and resources with
wildcards; NotAction/NotResource; policy variables; the record of unused permissions."""

from __future__ import annotations

from typing import Any

import pytest

from local.stack.iam import Call, Principal, unused_permissions
from local.stack.iam.policy import Policy, evaluate

pytestmark = pytest.mark.unit

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/exports"
BUCKET = "arn:aws:s3:::videos"


def policy(*statements: dict[str, Any], name: str = "P") -> Policy:
    return Policy.parse(name, {"Statement": list(statements)})


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_an_allowed_action_on_its_resource_names_the_statement() -> None:
    decision = evaluate(
        [policy(allow(["dynamodb:GetItem", "dynamodb:Query"], TABLE))], "dynamodb:GetItem", TABLE, {}
    )
    assert decision.allowed
    assert decision.allowed_by == ("P#0",)


def test_another_action_is_implicitly_denied() -> None:
    decision = evaluate([policy(allow("dynamodb:GetItem", TABLE))], "dynamodb:PutItem", TABLE, {})
    assert not decision.allowed
    assert decision.denied_by is None
    assert decision.because("dynamodb:PutItem") == (
        "because no identity-based policy allows the dynamodb:PutItem action"
    )


def test_another_resource_is_implicitly_denied() -> None:
    policies = [policy(allow("s3:GetObject", f"{BUCKET}/exports/*"))]
    assert evaluate(policies, "s3:GetObject", f"{BUCKET}/exports/p/e.mp4", {}).allowed
    assert not evaluate(policies, "s3:GetObject", f"{BUCKET}/requests/r.json", {}).allowed
    assert not evaluate(policies, "s3:GetObject", f"{BUCKET}-other/exports/p/e.mp4", {}).allowed
    # an index is its own resource
    assert not evaluate(
        [policy(allow("dynamodb:Query", TABLE))], "dynamodb:Query", f"{TABLE}/index/byStatus", {}
    ).allowed


def test_actions_match_case_insensitively_with_wildcards_resources_case_sensitively() -> None:
    policies = [policy(allow("S3:Get*", f"{BUCKET}/Exports/*"))]
    assert evaluate(policies, "s3:GetObjectTagging", f"{BUCKET}/Exports/x", {}).allowed
    assert not evaluate(policies, "s3:GetObject", f"{BUCKET}/exports/x", {}).allowed
    assert evaluate(
        [policy(allow("logs:*", "*"))], "logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:x", {}
    ).allowed


def test_an_explicit_deny_wins_over_any_allow() -> None:
    policies = [
        policy(allow("s3:*", "*")),
        policy({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"{BUCKET}/*"}, name="Boundary"),
    ]
    decision = evaluate(policies, "s3:DeleteObject", f"{BUCKET}/k", {})
    assert not decision.allowed
    assert decision.denied_by == "Boundary#0"
    assert decision.because("s3:DeleteObject") == "with an explicit deny in an identity-based policy"
    assert evaluate(policies, "s3:PutObject", f"{BUCKET}/k", {}).allowed


def test_not_action_and_not_resource() -> None:
    policies = [policy({"Effect": "Allow", "NotAction": "iam:*", "NotResource": f"{BUCKET}/private/*"})]
    assert evaluate(policies, "s3:GetObject", f"{BUCKET}/public/x", {}).allowed
    assert not evaluate(policies, "iam:CreateRole", "*", {}).allowed
    assert not evaluate(policies, "s3:GetObject", f"{BUCKET}/private/x", {}).allowed


def test_a_condition_decides_the_statement() -> None:
    statement = allow(
        "kms:Decrypt",
        "arn:aws:kms:us-east-1:123456789012:key/*",
        Condition={"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}},
    )
    key = "arn:aws:kms:us-east-1:123456789012:key/k1"
    assert evaluate(
        [policy(statement)], "kms:Decrypt", key, {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    ).allowed
    assert not evaluate([policy(statement)], "kms:Decrypt", key, {}).allowed


def test_policy_variables_come_from_the_request() -> None:
    statement = allow(
        "dynamodb:GetItem",
        TABLE,
        Condition={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:userid}"]}},
    )
    context = {"aws:userid": "AROAX:fn", "dynamodb:LeadingKeys": ["AROAX:fn"]}
    assert evaluate([policy(statement)], "dynamodb:GetItem", TABLE, context).allowed
    assert not evaluate(
        [policy(statement)], "dynamodb:GetItem", TABLE, {**context, "dynamodb:LeadingKeys": ["x"]}
    ).allowed
    by_name = [policy(allow("s3:GetObject", BUCKET + "/home/${aws:username}/*"))]
    assert evaluate(by_name, "s3:GetObject", f"{BUCKET}/home/ann/a", {"aws:username": "ann"}).allowed
    assert not evaluate(by_name, "s3:GetObject", f"{BUCKET}/home/ann/a", {}).allowed  # unresolved: no match


def test_unused_permissions_are_the_action_resource_pairs_no_allowed_call_used() -> None:
    principal = Principal(
        "DeliverExportFunction",
        "deliver",
        "role",
        inline=(
            policy(
                allow(["s3:PutObject", "s3:DeleteObject"], f"{BUCKET}/exports/*"),
                allow("s3:ListBucket", [BUCKET, f"{BUCKET}-old"]),
                name="DeliverPolicy",
            ),
        ),
    )
    calls = [
        Call(
            "DeliverExportFunction",
            "PutObject",
            "s3:PutObject",
            f"{BUCKET}/exports/e.mp4",
            True,
            ("DeliverPolicy#0",),
        ),
        Call("DeliverExportFunction", "HeadObject", "s3:ListBucket", BUCKET, True, ("DeliverPolicy#1",)),
        Call("DeliverExportFunction", "DeleteObjects", "s3:DeleteObject", f"{BUCKET}/exports/e.mp4", False),
    ]
    unused = {(u.statement, u.action, u.resource) for u in unused_permissions([principal], calls)}
    assert unused == {
        ("DeliverPolicy#0", "s3:DeleteObject", f"{BUCKET}/exports/*"),  # refused calls use nothing
        ("DeliverPolicy#1", "s3:ListBucket", f"{BUCKET}-old"),
    }


def test_a_version_is_covered_by_a_wildcard_after_the_name_but_not_by_the_bare_function() -> None:
    """As IAM matches Lambda ARNs: `function:NAME` is the unqualified function only; SAM's
    LambdaInvokePolicy (`function:NAME*`) covers its versions and aliases too."""
    base = "arn:aws:lambda:us-east-1:123456789012:function:poll"
    bare = Policy.parse(
        "bare", {"Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": base}]}
    )
    sam = Policy.parse(
        "sam", {"Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": f"{base}*"}]}
    )
    for qualified in (f"{base}:7", f"{base}:live"):
        assert not evaluate([bare], "lambda:InvokeFunction", qualified, {}).allowed
        assert evaluate([sam], "lambda:InvokeFunction", qualified, {}).allowed
    assert evaluate([bare], "lambda:InvokeFunction", base, {}).allowed
