"""The local IAM evaluator's condition operators, as the IAM policy reference defines them."""

from __future__ import annotations

from typing import Any

import pytest

from local.stack.iam.conditions import UnsupportedCondition, holds

pytestmark = pytest.mark.unit


def check(operator: str, key: str, wanted: Any, **context: Any) -> bool:
    return holds({operator: {key: wanted}}, {k.replace("__", ":"): v for k, v in context.items()})


@pytest.mark.parametrize(
    ("operator", "wanted", "value", "expected"),
    [
        ("StringEquals", "NONE", "NONE", True),
        ("StringEquals", "NONE", "none", False),
        ("StringEquals", ["NONE", "UPDATED_OLD"], "UPDATED_OLD", True),
        ("StringNotEquals", "NONE", "ALL_NEW", True),
        ("StringNotEquals", ["NONE", "ALL_NEW"], "ALL_NEW", False),
        ("StringEqualsIgnoreCase", "none", "NONE", True),
        ("StringLike", "exports/*", "exports/p/e.mp4", True),
        ("StringLike", "exports/?", "exports/ab", False),
        ("StringNotLike", "requests/*", "exports/a", True),
        ("Bool", "true", "true", True),
        ("Bool", True, "false", False),
        ("NumericLessThan", "10", "9", True),
        ("NumericGreaterThanEquals", "10", "9", False),
        ("DateLessThan", "2030-01-01T00:00:00Z", "2026-12-06T21:00:00Z", True),
    ],
)
def test_single_valued_operators(operator: str, wanted: Any, value: str, expected: bool) -> None:
    assert check(operator, "k", wanted, k=value) is expected


def test_arn_operators_match_part_by_part() -> None:
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:export"
    assert check("ArnEquals", "aws:SourceArn", machine, aws__SourceArn=machine)
    assert check(
        "ArnLike", "aws:SourceArn", "arn:aws:states:*:123456789012:stateMachine:*", aws__SourceArn=machine
    )
    assert not check("ArnLike", "aws:SourceArn", "arn:aws:states:*:999999999999:*", aws__SourceArn=machine)
    assert not check("ArnLike", "aws:SourceArn", "arn:aws:states:*", aws__SourceArn="not-an-arn")
    assert check("ArnNotLike", "aws:SourceArn", "arn:aws:sqs:*", aws__SourceArn=machine)


def test_a_key_the_request_lacks_fails_a_positive_operator_and_passes_a_negated_one() -> None:
    assert not check("StringEquals", "kms:ViaService", "secretsmanager.us-east-1.amazonaws.com")
    assert not check("ArnLike", "aws:SourceArn", "arn:*")
    assert check("StringNotEquals", "kms:ViaService", "x")
    assert check("ArnNotLike", "aws:SourceArn", "arn:*")


def test_if_exists_passes_on_an_absent_key_and_checks_a_present_one() -> None:
    assert check("StringEqualsIfExists", "dynamodb:ReturnValues", ["NONE"])
    assert check("StringEqualsIfExists", "dynamodb:ReturnValues", ["NONE"], dynamodb__ReturnValues="NONE")
    assert not check(
        "StringEqualsIfExists", "dynamodb:ReturnValues", ["NONE"], dynamodb__ReturnValues="ALL_NEW"
    )
    assert check("ArnLikeIfExists", "aws:SourceArn", "arn:aws:*")


def test_for_all_values_holds_when_every_value_matches_and_on_an_empty_set() -> None:
    allowed = ["exportId", "status", "webhookEvents"]
    assert check(
        "ForAllValues:StringEquals",
        "dynamodb:Attributes",
        allowed,
        dynamodb__Attributes=["exportId", "status"],
    )
    assert not check(
        "ForAllValues:StringEquals",
        "dynamodb:Attributes",
        allowed,
        dynamodb__Attributes=["exportId", "waitToken"],
    )
    assert check("ForAllValues:StringEquals", "dynamodb:Attributes", allowed)  # absent: vacuously true
    assert check("ForAllValues:StringEquals", "dynamodb:Attributes", allowed, dynamodb__Attributes=[])
    assert check(
        "ForAllValues:StringLike",
        "dynamodb:Attributes",
        ["webhook*", "exportId"],
        dynamodb__Attributes=["webhookEvents", "exportId"],
    )


def test_for_any_value_holds_when_one_value_matches_never_on_an_absent_key() -> None:
    assert check(
        "ForAnyValue:StringEquals", "dynamodb:Attributes", ["status"], dynamodb__Attributes=["status", "x"]
    )
    assert not check(
        "ForAnyValue:StringEquals", "dynamodb:Attributes", ["status"], dynamodb__Attributes=["x"]
    )
    assert not check("ForAnyValue:StringEquals", "dynamodb:Attributes", ["status"])
    assert check("ForAnyValue:StringLike", "aws:TagKeys", ["team*"], aws__TagKeys=["owner", "team-a"])


def test_null_checks_whether_the_key_is_there() -> None:
    assert check("Null", "aws:TokenIssueTime", "true")
    assert not check("Null", "aws:TokenIssueTime", "true", aws__TokenIssueTime="2026-01-01T00:00:00Z")
    assert check("Null", "aws:TokenIssueTime", "false", aws__TokenIssueTime="2026-01-01T00:00:00Z")
    assert not check("Null", "aws:TokenIssueTime", False)


def test_every_operator_and_every_key_of_a_block_must_hold() -> None:
    block = {
        "StringEquals": {
            "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
            "kms:CallerAccount": "1",
        },
        "Bool": {"aws:ViaAWSService": "true"},
    }
    context = {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com", "kms:CallerAccount": "1"}
    assert not holds(block, context)
    assert holds(block, {**context, "aws:ViaAWSService": "true"})


def test_condition_keys_are_case_insensitive() -> None:
    assert check("StringEquals", "KMS:ViaService", "s", **{"kms__viaservice": "s"})


def test_an_unknown_operator_is_refused_not_guessed() -> None:
    with pytest.raises(UnsupportedCondition):
        check("StringSortOfEquals", "k", "v", k="v")
    with pytest.raises(UnsupportedCondition):
        check("ForSomeValues:StringEquals", "k", "v", k="v")
