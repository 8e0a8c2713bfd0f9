"""The local IAM middleware in front of moto's own WSGI app, driven by boto3 clients in this process
(no socket): a call the caller's role does not allow fails with the ClientError AWS raises, in each
service's wire format; S3's 403-or-404 for a missing key and DeleteObjects' per-key refusals;
Secrets Manager's kms:Decrypt on the caller's behalf; the account's own keys pass unchecked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.stack.iam import CallRecord, IamGate, IamMiddleware, Principal, Principals
from local.stack.iam.policy import Policy
from tests.unit.local.wsgi_boto import InProcess

pytestmark = pytest.mark.unit

REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET = "videos"
TABLE = "exports"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"


class Stack:
    def __init__(self, mode: str = "enforce") -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.gate = IamGate(Principals(), CallRecord(), mode=mode)
        self.aws = InProcess(IamMiddleware(DomainDispatcherApplication(create_backend_app), self.gate))
        self.admin = self.aws.client  # the account's own keys

    def role(self, *statements: dict[str, Any], name: str = "Fn") -> Principal:
        principal = Principal(name, name.lower(), f"stack-{name}Role")
        principal.inline = (Policy.parse(f"{name}Policy", {"Statement": list(statements)}),)
        self.gate.principals.add(principal)
        return principal

    def as_role(self, principal: Principal, service: str, **config: Any) -> Any:
        keys = (principal.access_key_id, principal.secret_access_key, principal.session_token)
        return self.aws.client(service, keys, **config)


@pytest.fixture
def stack() -> Iterator[Stack]:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    yield Stack()
    moto_api_backend.reset()


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def code_and_status(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def test_the_account_s_own_keys_pass_and_a_role_gets_only_what_it_is_allowed(stack: Stack) -> None:
    stack.admin("s3").create_bucket(Bucket=BUCKET)
    reader = stack.as_role(stack.role(allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/exports/*")), "s3")
    stack.admin("s3").put_object(Bucket=BUCKET, Key="exports/a.mp4", Body=b"video")

    assert reader.get_object(Bucket=BUCKET, Key="exports/a.mp4")["Body"].read() == b"video"
    with pytest.raises(ClientError) as refused:
        reader.put_object(Bucket=BUCKET, Key="exports/b.mp4", Body=b"x")
    assert code_and_status(refused.value) == ("AccessDenied", 403)
    message = refused.value.response["Error"]["Message"]
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/stack-FnRole/fn is not authorized to perform: "
        f's3:PutObject on resource: "arn:aws:s3:::{BUCKET}/exports/b.mp4" because no identity-based '
        "policy allows the s3:PutObject action"
    )
    [granted] = [c for c in stack.gate.record.calls() if c.allowed]
    assert (granted.operation, granted.action, granted.statements) == (
        "GetObject",
        "s3:GetObject",
        ("FnPolicy#0",),
    )


def test_a_presigned_link_is_authorised_as_the_role_that_signed_it(stack: Stack) -> None:
    stack.admin("s3").create_bucket(Bucket=BUCKET)
    stack.admin("s3").put_object(Bucket=BUCKET, Key="exports/a.mp4", Body=b"video")
    getter = stack.role(allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/exports/*"))
    for config in ({}, {"signature_version": "s3v4"}):  # boto3's default (SigV2 here), and SigV4
        signer = stack.as_role(getter, "s3", **config)
        link = signer.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "exports/a.mp4"})
        assert stack.aws.get(link) == (200, b"video")
        other = signer.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": "requests/r.json"}
        )
        status, body = stack.aws.get(other)
        assert status == 403
        assert b"<Code>AccessDenied</Code>" in body
    notes = {c.note for c in stack.gate.record.calls()}
    assert any("SigV2" in n for n in notes)


def test_a_missing_key_is_403_without_list_bucket_and_404_with_it(stack: Stack) -> None:
    stack.admin("s3").create_bucket(Bucket=BUCKET)
    objects = allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/*")
    blind = stack.as_role(stack.role(objects, name="Blind"), "s3")
    lister = stack.as_role(
        stack.role(objects, allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET}"), name="Lister"), "s3"
    )

    with pytest.raises(ClientError) as head:
        blind.head_object(Bucket=BUCKET, Key="exports/none.mp4")
    assert code_and_status(head.value) == ("403", 403)
    with pytest.raises(ClientError) as get:
        blind.get_object(Bucket=BUCKET, Key="exports/none.mp4")
    assert code_and_status(get.value) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as head:
        lister.head_object(Bucket=BUCKET, Key="exports/none.mp4")
    assert code_and_status(head.value) == ("404", 404)
    with pytest.raises(ClientError) as get:
        lister.get_object(Bucket=BUCKET, Key="exports/none.mp4")
    assert code_and_status(get.value) == ("NoSuchKey", 404)
    stack.admin("s3").put_object(Bucket=BUCKET, Key="exports/there.mp4", Body=b"v")
    assert blind.head_object(Bucket=BUCKET, Key="exports/there.mp4")["ContentLength"] == 1
    refused = [c for c in stack.gate.record.calls() if not c.allowed]
    assert {(c.principal, c.action) for c in refused} == {("Blind", "s3:ListBucket")}


def test_delete_objects_refuses_key_by_key_in_a_200_answer(stack: Stack) -> None:
    s3 = stack.admin("s3")
    s3.create_bucket(Bucket=BUCKET)
    for key in ("exports/a.mp4", "exports/a.png", "requests/r.json"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    deleter = stack.as_role(stack.role(allow("s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/exports/*")), "s3")

    answer = deleter.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": "exports/a.mp4"}, {"Key": "requests/r.json"}]}
    )

    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [d["Key"] for d in answer["Deleted"]] == ["exports/a.mp4"]
    assert answer["Errors"] == [
        {"Key": "requests/r.json", "Code": "AccessDenied", "Message": "Access Denied"}
    ]
    left = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert left == ["exports/a.png", "requests/r.json"]

    nothing = stack.as_role(stack.role(allow("s3:GetObject", "*"), name="Reader"), "s3")
    answer = nothing.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "exports/a.png"}]})
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "Deleted" not in answer
    assert answer["Errors"] == [{"Key": "exports/a.png", "Code": "AccessDenied", "Message": "Access Denied"}]
    assert len(s3.list_objects_v2(Bucket=BUCKET)["Contents"]) == 2


def _refused(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as refused:
        call()
    return code_and_status(refused.value)


def test_each_service_refuses_in_its_own_wire_format(stack: Stack) -> None:
    admin = stack.admin
    admin("dynamodb").create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "exportId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "exportId", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic = admin("sns").create_topic(Name="notes")["TopicArn"]
    queue = admin("sqs").create_queue(QueueName="requests")["QueueUrl"]
    admin("events").create_event_bus(Name="bus")
    secret = admin("secretsmanager").create_secret(Name="creds", SecretString="{}")["ARN"]
    key = admin("kms").create_key()["KeyMetadata"]["KeyId"]
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:export"
    nobody = stack.role(allow("xray:PutTraceSegments", "*"), name="Nobody")
    client = lambda service: stack.as_role(nobody, service)  # noqa: E731

    item = {"exportId": {"S": "e1"}}
    assert _refused(lambda: client("dynamodb").put_item(TableName=TABLE, Item=item)) == (
        "AccessDeniedException",
        400,
    )
    assert _refused(lambda: client("sns").publish(TopicArn=topic, Message="m")) == ("AuthorizationError", 403)
    assert _refused(lambda: client("sqs").send_message(QueueUrl=queue, MessageBody="m")) == (
        "AccessDenied",
        403,
    )
    entry = {"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": "bus"}
    assert _refused(lambda: client("events").put_events(Entries=[entry])) == ("AccessDeniedException", 400)
    assert _refused(lambda: client("secretsmanager").get_secret_value(SecretId=secret)) == (
        "AccessDeniedException",
        400,
    )
    assert _refused(lambda: client("kms").encrypt(KeyId=key, Plaintext=b"x")) == (
        "AccessDeniedException",
        400,
    )
    assert _refused(lambda: client("stepfunctions").start_execution(stateMachineArn=machine)) == (
        "AccessDeniedException",
        400,
    )
    assert _refused(lambda: client("lambda").invoke(FunctionName="poll")) == ("AccessDeniedException", 403)
    with pytest.raises(ClientError) as sns:
        client("sns").publish(TopicArn=topic, Message="m")
    assert sns.value.response["Error"]["Message"].startswith(
        f"User: {nobody.arn} is not authorized to perform: SNS:Publish on resource: {topic}"
    )
    assert admin("dynamodb").scan(TableName=TABLE)["Items"] == []


def test_a_transaction_needs_each_item_s_action_on_its_table(stack: Stack) -> None:
    ddb = stack.admin("dynamodb")
    for table in (TABLE, "idempotency"):
        ddb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "exportId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "exportId", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    writer = stack.as_role(
        stack.role(allow(["dynamodb:PutItem", "dynamodb:UpdateItem"], TABLE_ARN)), "dynamodb"
    )
    put = {"Put": {"TableName": TABLE, "Item": {"exportId": {"S": "e1"}}}}

    writer.transact_write_items(TransactItems=[put])
    other = {"Put": {"TableName": "idempotency", "Item": {"exportId": {"S": "k"}}}}
    assert _refused(lambda: writer.transact_write_items(TransactItems=[put, other])) == (
        "AccessDeniedException",
        400,
    )
    check = {
        "ConditionCheck": {
            "TableName": TABLE,
            "Key": {"exportId": {"S": "e1"}},
            "ConditionExpression": "attribute_exists(exportId)",
        }
    }
    with pytest.raises(ClientError) as refused:
        writer.transact_write_items(TransactItems=[check])
    assert "dynamodb:ConditionCheckItem" in refused.value.response["Error"]["Message"]
    assert ddb.scan(TableName="idempotency")["Items"] == []


def test_dynamodb_fine_grained_keys(stack: Stack) -> None:
    stack.admin("dynamodb").create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "exportId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "exportId", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    stack.admin("dynamodb").put_item(
        TableName=TABLE, Item={"exportId": {"S": "e1"}, "status": {"S": "RENDERING"}}
    )
    narrowed = allow(
        "dynamodb:UpdateItem",
        TABLE_ARN,
        Condition={
            "ForAllValues:StringEquals": {
                "dynamodb:Attributes": ["exportId", "status", "webhookEvents"],
                "dynamodb:LeadingKeys": ["e1"],
            },
            "StringEqualsIfExists": {"dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"]},
        },
    )
    receiver = stack.as_role(stack.role(narrowed), "dynamodb")
    update: dict[str, Any] = {
        "TableName": TABLE,
        "Key": {"exportId": {"S": "e1"}},
        "UpdateExpression": "ADD webhookEvents :k",
        "ConditionExpression": "#s IN (:r)",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":k": {"SS": ["a"]}, ":r": {"S": "RENDERING"}},
    }
    receiver.update_item(**update)
    receiver.update_item(**update, ReturnValues="UPDATED_NEW")
    assert _refused(lambda: receiver.update_item(**update, ReturnValues="ALL_NEW")) == (
        "AccessDeniedException",
        400,
    )
    wider = {**update, "UpdateExpression": "ADD webhookEvents :k SET waitToken = :r"}
    assert _refused(lambda: receiver.update_item(**wider)) == ("AccessDeniedException", 400)
    other = {**update, "Key": {"exportId": {"S": "e2"}}}
    assert _refused(lambda: receiver.update_item(**other)) == ("AccessDeniedException", 400)
    [refused] = [c for c in stack.gate.record.denied() if "ALL_NEW" in str(c.context)]
    assert ("dynamodb:ReturnValues", "ALL_NEW") in refused.context
    assert ("dynamodb:Attributes", "exportId,status,webhookEvents") in refused.context


def test_a_secret_under_a_customer_key_needs_kms_decrypt_through_secrets_manager(stack: Stack) -> None:
    key = stack.admin("kms").create_key()["KeyMetadata"]["Arn"]
    mine = stack.admin("secretsmanager").create_secret(Name="creds", KmsKeyId=key, SecretString='{"a": 1}')[
        "ARN"
    ]
    plain = stack.admin("secretsmanager").create_secret(Name="plain", SecretString="p")["ARN"]
    read = allow("secretsmanager:GetSecretValue", [mine, plain])
    decrypt = allow(
        "kms:Decrypt",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*",
        Condition={
            "StringEquals": {
                "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com",
                "kms:EncryptionContext:SecretARN": mine,
            }
        },
    )
    without = stack.as_role(stack.role(read, name="Without"), "secretsmanager")
    granted = stack.as_role(stack.role(read, decrypt, name="Granted"), "secretsmanager")

    with pytest.raises(ClientError) as refused:
        without.get_secret_value(SecretId=mine)
    assert code_and_status(refused.value) == ("AccessDeniedException", 400)
    assert refused.value.response["Error"]["Message"] == "Access to KMS is not allowed"
    assert without.get_secret_value(SecretId=plain)["SecretString"] == "p"  # the AWS managed key
    assert json.loads(granted.get_secret_value(SecretId=mine)["SecretString"]) == {"a": 1}
    assert json.loads(granted.get_secret_value(SecretId="creds")["SecretString"]) == {"a": 1}  # by name
    direct = stack.as_role(stack.role(decrypt, name="Direct"), "kms")
    blob = stack.admin("kms").encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    assert _refused(lambda: direct.decrypt(KeyId=key, CiphertextBlob=blob)) == ("AccessDeniedException", 400)


def test_audit_mode_lets_a_refused_call_through_and_records_it() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    try:
        stack = Stack(mode="audit")
        stack.admin("s3").create_bucket(Bucket=BUCKET)
        writer = stack.as_role(stack.role(allow("s3:GetObject", "*")), "s3")
        writer.put_object(Bucket=BUCKET, Key="k", Body=b"x")
        [call] = stack.gate.record.denied()
        assert (call.operation, call.action, call.resource) == (
            "PutObject",
            "s3:PutObject",
            f"arn:aws:s3:::{BUCKET}/k",
        )
    finally:
        moto_api_backend.reset()


def test_a_request_the_local_stack_cannot_map_is_refused(stack: Stack) -> None:
    caller = stack.as_role(stack.role(allow("*", "*")), "s3")
    stack.admin("s3").create_bucket(Bucket=BUCKET)
    assert _refused(lambda: caller.get_bucket_website(Bucket=BUCKET)) == ("AccessDenied", 403)
    [call] = stack.gate.record.denied()
    assert call.note == "unmapped"


def test_a_transaction_repeated_with_its_token_is_answered_not_applied_again(stack: Stack) -> None:
    from local.stack.moto_patches import dynamodb_transaction_tokens

    dynamodb_transaction_tokens.apply()
    ddb = stack.admin("dynamodb")
    ddb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "exportId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "exportId", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    lease = {
        "Put": {
            "TableName": TABLE,
            "Item": {"exportId": {"S": "lease#p"}},
            "ConditionExpression": "attribute_not_exists(exportId)",
        }
    }
    ddb.transact_write_items(TransactItems=[lease], ClientRequestToken="t1")
    ddb.transact_write_items(TransactItems=[lease], ClientRequestToken="t1")  # a retry: success again
    with pytest.raises(ClientError) as again:
        ddb.transact_write_items(TransactItems=[lease], ClientRequestToken="t2")
    assert again.value.response["Error"]["Code"] == "TransactionCanceledException"
    other = {"Put": {"TableName": TABLE, "Item": {"exportId": {"S": "other"}}}}
    with pytest.raises(ClientError) as mismatch:
        ddb.transact_write_items(TransactItems=[other], ClientRequestToken="t1")
    assert mismatch.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
