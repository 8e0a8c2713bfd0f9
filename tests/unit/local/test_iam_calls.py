"""Requests as IAM sees them: which actions on which resources, with which condition keys."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.stack.iam.calls import SecretInfo, Unmapped
from local.stack.iam.dynamodb_calls import expression_attributes, plan_dynamodb
from local.stack.iam.request import Credential, Request, credential_of
from local.stack.iam.s3_calls import delete_keys, keep_only, plan_s3
from local.stack.iam.service_calls import PLANNERS

pytestmark = pytest.mark.unit
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/exports"


class Lookups:
    def table_keys(self, region: str, table: str) -> tuple[str, str | None] | None:
        return ("exportId", None) if table.endswith("exports") else None

    def secret(self, region: str, secret_id: str) -> SecretInfo | None:
        arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:creds-AbCdEf"
        return SecretInfo(arn, None, "v1") if secret_id in ("creds", arn) else None

    def key_arn(self, region: str, key_id: str) -> str:
        return key_id if key_id.startswith("arn:") else f"arn:aws:kms:{region}:123456789012:key/{key_id}"

    def state_machine_of_token(self, region: str, token: str) -> str | None:
        return "arn:aws:states:us-east-1:123456789012:stateMachine:export" if token == "t1" else None

    def s3_kms_key(self, bucket: str, key: str, upload_id: str | None) -> str | None:
        """b/sealed.mp4 and upload u1 of b/k are under key k1; nothing else is SSE-KMS."""
        return "k1" if (key, upload_id) in (("sealed.mp4", None), ("k", "u1")) else None


def request(
    service: str, *, method: str = "POST", path: str = "/", query: str = "", body: Any = b"", target: str = ""
) -> Request:
    from urllib.parse import parse_qs

    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = {"x-amz-target": f"Prefix.{target}"} if target else {}
    return Request(method, path, parse_qs(query, keep_blank_values=True), headers, service, "us-east-1", raw)


def test_the_signer_comes_from_the_authorization_header_or_a_presigned_url() -> None:
    header = "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261206/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x"
    signed = credential_of({"HTTP_AUTHORIZATION": header})
    assert signed is not None
    assert (signed.access_key_id, signed.region, signed.service) == (
        "ASIAEXAMPLE",
        "us-east-1",
        "dynamodb",
    )
    query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAX%2F20261206%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=y"
    presigned = credential_of({"QUERY_STRING": query})
    assert presigned is not None
    assert (presigned.access_key_id, presigned.service) == ("ASIAX", "s3")
    assert credential_of({}) is None
    legacy = credential_of({"QUERY_STRING": "AWSAccessKeyId=ASIAV2&Signature=s&Expires=1"}, "eu-west-1")
    assert legacy == Credential("ASIAV2", "eu-west-1", "s3", sigv2=True)
    assert credential_of({"HTTP_AUTHORIZATION": "AWS ASIAV2:sig"}) == Credential(
        "ASIAV2", "us-east-1", "s3", sigv2=True
    )


@pytest.mark.parametrize(
    ("method", "path", "query", "operation", "action", "resource"),
    [
        ("HEAD", "/b/exports/p/e.mp4", "", "HeadObject", "s3:GetObject", "arn:aws:s3:::b/exports/p/e.mp4"),
        (
            "GET",
            "/b/exports/e.mp4",
            "versionId=v",
            "GetObject",
            "s3:GetObjectVersion",
            "arn:aws:s3:::b/exports/e.mp4",
        ),
        ("POST", "/b/k", "uploads", "CreateMultipartUpload", "s3:PutObject", "arn:aws:s3:::b/k"),
        ("PUT", "/b/k", "partNumber=1&uploadId=u", "UploadPart", "s3:PutObject", "arn:aws:s3:::b/k"),
        ("POST", "/b/k", "uploadId=u", "CompleteMultipartUpload", "s3:PutObject", "arn:aws:s3:::b/k"),
        (
            "DELETE",
            "/b/k",
            "uploadId=u",
            "AbortMultipartUpload",
            "s3:AbortMultipartUpload",
            "arn:aws:s3:::b/k",
        ),
        ("GET", "/b/k", "uploadId=u", "ListParts", "s3:ListMultipartUploadParts", "arn:aws:s3:::b/k"),
        ("PUT", "/b/k", "tagging", "PutObjectTagging", "s3:PutObjectTagging", "arn:aws:s3:::b/k"),
        (  # the version a completion in a versioned bucket returned (the S3 API reference)
            "PUT",
            "/b/k",
            "tagging&versionId=v",
            "PutObjectTagging",
            "s3:PutObjectVersionTagging",
            "arn:aws:s3:::b/k",
        ),
        ("GET", "/b/k", "acl&versionId=v", "GetObjectAcl", "s3:GetObjectVersionAcl", "arn:aws:s3:::b/k"),
        ("DELETE", "/b/k", "", "DeleteObject", "s3:DeleteObject", "arn:aws:s3:::b/k"),
        ("GET", "/b", "list-type=2&prefix=exports/", "ListObjects", "s3:ListBucket", "arn:aws:s3:::b"),
        ("GET", "/b", "uploads", "ListMultipartUploads", "s3:ListBucketMultipartUploads", "arn:aws:s3:::b"),
    ],
)
def test_s3_operations(
    method: str, path: str, query: str, operation: str, action: str, resource: str
) -> None:
    plan = plan_s3(request("s3", method=method, path=path, query=query))
    assert (plan.operation, plan.checks[0].action, plan.checks[0].resource) == (operation, action, resource)


def test_an_s3_copy_needs_both_ends_and_a_listing_carries_its_prefix() -> None:
    copy = request("s3", method="PUT", path="/b/dst")
    copy.headers["x-amz-copy-source"] = "/b/src%20key?versionId=1"
    assert [(c.action, c.resource) for c in plan_s3(copy).checks] == [
        ("s3:PutObject", "arn:aws:s3:::b/dst"),
        ("s3:GetObject", "arn:aws:s3:::b/src key"),
    ]
    listing = plan_s3(request("s3", method="GET", path="/b", query="list-type=2&prefix=exports/"))
    assert listing.checks[0].context["s3:prefix"] == "exports/"


def test_sse_kms_uses_the_key_as_the_caller_through_s3() -> None:
    """A new SSE-KMS object or upload needs kms:GenerateDataKey on its key; each part, the
    completion and each read of one kms:Decrypt; all with kms:ViaService s3.<region>."""
    key = "arn:aws:kms:us-east-1:123456789012:key/k1"
    created = request("s3", path="/b/k", query="uploads")
    created.headers.update(
        {"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": key}
    )
    put = request("s3", method="PUT", path="/b/k")
    put.headers.update(created.headers)
    cases = [
        (created, "kms:GenerateDataKey"),
        (put, "kms:GenerateDataKey"),
        (request("s3", method="PUT", path="/b/k", query="uploadId=u1&partNumber=1"), "kms:Decrypt"),
        (request("s3", path="/b/k", query="uploadId=u1"), "kms:Decrypt"),
        (request("s3", method="GET", path="/b/sealed.mp4"), "kms:Decrypt"),
    ]
    for made, action in cases:
        kms = plan_s3(made, Lookups()).checks[1:]
        assert [(c.action, c.resource) for c in kms] == [(action, key)], made
        assert kms[0].context["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    plain = [
        request("s3", method="PUT", path="/b/k"),  # SSE-S3
        request("s3", method="HEAD", path="/b/sealed.mp4"),  # HeadObject needs no key
        request("s3", method="GET", path="/b/other.mp4"),
        request("s3", method="PUT", path="/b/k", query="uploadId=u2&partNumber=1"),
    ]
    for made in plain:
        assert len(plan_s3(made, Lookups()).checks) == 1, made


def test_delete_objects_names_each_key_and_keeps_only_the_allowed_ones() -> None:
    body = (
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a&amp;b.mp4</Key></Object>'
        b"<Object><Key>c.png</Key><VersionId>v1</VersionId></Object><Quiet>false</Quiet></Delete>"
    )
    assert delete_keys(body) == [("a&b.mp4", None), ("c.png", "v1")]
    kept = keep_only(body, {("c.png", "v1")})
    assert delete_keys(kept) == [("c.png", "v1")]
    assert b"<Quiet>false</Quiet>" in kept
    plan = plan_s3(request("s3", method="POST", path="/b", query="delete", body=body))
    assert plan.checks == []
    assert plan.delete_keys == [("a&b.mp4", None), ("c.png", "v1")]


def test_dynamodb_items_carry_their_fine_grained_keys() -> None:
    update = {
        "TableName": "exports",
        "Key": {"exportId": {"S": "e1"}},
        "UpdateExpression": "ADD webhookEvents :k SET webhookConfirmedAt = if_not_exists(webhookConfirmedAt, :now)",
        "ConditionExpression": "attribute_exists(exportId) AND #status IN (:a) AND size(webhookEvents) < :m",
        "ExpressionAttributeNames": {"#status": "status"},
        "ReturnValues": "ALL_NEW",
    }
    [check] = plan_dynamodb(request("dynamodb", body=update, target="UpdateItem"), Lookups()).checks
    assert (check.action, check.resource) == ("dynamodb:UpdateItem", TABLE)
    assert check.context["dynamodb:LeadingKeys"] == ["e1"]
    assert check.context["dynamodb:Attributes"] == [
        "exportId",
        "status",
        "webhookConfirmedAt",
        "webhookEvents",
    ]
    assert check.context["dynamodb:ReturnValues"] == "ALL_NEW"
    put = {"TableName": "exports", "Item": {"exportId": {"S": "e2"}, "status": {"S": "REQUESTED"}}}
    [check] = plan_dynamodb(request("dynamodb", body=put, target="PutItem"), Lookups()).checks
    assert check.context["dynamodb:ReturnValues"] == "NONE"
    assert check.context["dynamodb:LeadingKeys"] == ["e2"]


def test_a_query_names_its_index_its_partition_and_its_select() -> None:
    query = {
        "TableName": "exports",
        "IndexName": "byProject",
        "KeyConditionExpression": "projectId = :p AND createdAt < :c",
        "ExpressionAttributeValues": {":p": {"S": "p1"}, ":c": {"S": "z"}},
    }
    [check] = plan_dynamodb(request("dynamodb", body=query, target="Query"), Lookups()).checks
    assert check.resource == f"{TABLE}/index/byProject"
    assert check.context["dynamodb:Select"] == "ALL_ATTRIBUTES"
    assert "dynamodb:LeadingKeys" not in check.context  # the index's partition key is not the table's
    assert check.context["dynamodb:Attributes"] == ["createdAt", "projectId"]


def test_a_transaction_is_one_check_per_item() -> None:
    items = [
        {"Put": {"TableName": "exports", "Item": {"exportId": {"S": "e"}}}},
        {"Delete": {"TableName": "exports", "Key": {"exportId": {"S": "lease#p"}}}},
        {
            "ConditionCheck": {
                "TableName": "other",
                "Key": {"id": {"S": "x"}},
                "ConditionExpression": "attribute_exists(id)",
            }
        },
    ]
    plan = plan_dynamodb(
        request("dynamodb", body={"TransactItems": items}, target="TransactWriteItems"), Lookups()
    )
    assert [c.action for c in plan.checks] == [
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    ]
    assert plan.checks[1].context["dynamodb:LeadingKeys"] == ["lease#p"]
    with pytest.raises(Unmapped):
        plan_dynamodb(request("dynamodb", target="ExecuteStatement", body={}), Lookups())


def test_expression_attributes_are_top_level_names() -> None:
    found = expression_attributes("SET a.b[0] = :v, #n = list_append(#n, :l) REMOVE c", {"#n": "names"})
    assert found == {"a", "names", "c"}


def test_the_other_services() -> None:
    plan = PLANNERS["sqs"](
        request(
            "sqs",
            body={"QueueUrl": "http://127.0.0.1:5/123456789012/q", "Entries": []},
            target="SendMessageBatch",
        ),
        Lookups(),
    )
    assert (plan.checks[0].action, plan.checks[0].resource) == (
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:123456789012:q",
    )
    entries = [{"EventBusName": "bus", "Source": "s", "DetailType": "d"}, {"Source": "s"}]
    plan = PLANNERS["events"](request("events", body={"Entries": entries}, target="PutEvents"), Lookups())
    assert [c.resource for c in plan.checks] == [
        "arn:aws:events:us-east-1:123456789012:event-bus/bus",
        "arn:aws:events:us-east-1:123456789012:event-bus/default",
    ]
    plan = PLANNERS["sns"](
        request("sns", body=b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At"), Lookups()
    )
    assert (plan.checks[0].action, plan.checks[0].resource) == ("sns:Publish", "arn:aws:sns:us-east-1:1:t")
    plan = PLANNERS["secretsmanager"](
        request("secretsmanager", body={"SecretId": "creds"}, target="GetSecretValue"), Lookups()
    )
    assert plan.checks[0].resource.endswith(":secret:creds-AbCdEf")
    assert plan.secret_id == "creds"
    path = "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:poll/invocations"
    plan = PLANNERS["lambda"](request("lambda", path=path), Lookups())
    assert (plan.checks[0].action, plan.checks[0].resource) == (
        "lambda:InvokeFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:poll",
    )


@pytest.mark.parametrize(
    ("function", "query", "resource"),
    [
        ("poll", "", "function:poll"),
        ("poll", "Qualifier=7", "function:poll:7"),
        ("poll:live", "", "function:poll:live"),
        ("123456789012:function:poll", "Qualifier=live", "function:poll:live"),
        ("arn:aws:lambda:us-east-1:123456789012:function:poll:7", "", "function:poll:7"),
        ("arn:aws:lambda:us-east-1:123456789012:function:poll", "Qualifier=7", "function:poll:7"),
    ],
)
def test_an_invocation_is_authorised_on_the_version_or_alias_it_names(
    function: str, query: str, resource: str
) -> None:
    """Lambda's API takes a function in four forms, with or without a Qualifier; a version's or an
    alias's own ARN is the resource (the state machine invokes versions)."""
    from urllib.parse import quote

    path = f"/2015-03-31/functions/{quote(function, safe='')}/invocations"
    plan = PLANNERS["lambda"](request("lambda", path=path, query=query), Lookups())
    assert (plan.checks[0].action, plan.checks[0].resource) == (
        "lambda:InvokeFunction",
        f"arn:aws:lambda:us-east-1:123456789012:{resource}",
    )


def test_a_task_token_is_authorised_on_the_state_machine_that_issued_it() -> None:
    plan = PLANNERS["states"](
        request("states", body={"taskToken": "t1", "output": "{}"}, target="SendTaskSuccess"), Lookups()
    )
    assert (plan.checks[0].action, plan.checks[0].resource) == (
        "states:SendTaskSuccess",
        "arn:aws:states:us-east-1:123456789012:stateMachine:export",
    )
    unknown = PLANNERS["states"](
        request("states", body={"taskToken": "zz"}, target="SendTaskSuccess"), Lookups()
    )
    assert unknown.checks == []  # Step Functions answers InvalidToken itself
