"""Refusals in each service's own wire format, so that boto3 raises the ClientError AWS would:

- S3 (REST-XML): 403 `<Error><Code>AccessDenied</Code>`; a HEAD has no body, so boto3 sees "403";
- DynamoDB, Step Functions, EventBridge, Secrets Manager, KMS (JSON): 400 `AccessDeniedException`;
- SQS (JSON, query-compatible): 403 `AccessDenied` (the `x-amzn-query-error` header boto3 reads);
- SNS (query, XML): 403 `AuthorizationError`;
- Lambda (REST-JSON): 403 `AccessDeniedException`.
Messages read as AWS's: "User: <session ARN> is not authorized to perform: <action> on resource:
<ARN> because no identity-based policy allows the <action> action"."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from html import escape

_JSON_TYPES = {
    "dynamodb": "application/x-amz-json-1.0",
    "states": "application/x-amz-json-1.0",
    "sqs": "application/x-amz-json-1.0",
    "events": "application/x-amz-json-1.1",
    "secretsmanager": "application/x-amz-json-1.1",
    "kms": "application/x-amz-json-1.1",
}


@dataclass(frozen=True)
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


def denial_message(principal_arn: str, action: str, resource: str, because: str, service: str) -> str:
    if service == "sns":  # SNS names its actions with an upper-case prefix
        action = "SNS:" + action.split(":", 1)[1]
        because = because.replace("sns:", "SNS:")
    shown = f'"{resource}"' if service == "s3" else resource
    return f"User: {principal_arn} is not authorized to perform: {action} on resource: {shown} {because}"


def access_denied(service: str, method: str, message: str) -> Answer:
    request_id = str(uuid.uuid4())
    if service == "s3":
        return s3_access_denied(method, message, request_id)
    if service == "sns":
        body = (
            '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
            f"<Code>AuthorizationError</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return Answer("403 Forbidden", [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body)
    if service == "lambda":
        body = json.dumps({"Type": "User", "message": message}).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", "AccessDeniedException"),
            ("x-amzn-RequestId", request_id),
        ]
        return Answer("403 Forbidden", headers, body)
    body = json.dumps(
        {"__type": "com.amazon.coral.service#AccessDeniedException", "message": message}
    ).encode()
    headers = [
        ("Content-Type", _JSON_TYPES.get(service, "application/x-amz-json-1.0")),
        ("x-amzn-RequestId", request_id),
    ]
    if service == "sqs":
        return Answer("403 Forbidden", [*headers, ("x-amzn-query-error", "AccessDenied;Sender")], body)
    return Answer("400 Bad Request", headers, body)


def s3_access_denied(method: str, message: str = "Access Denied", request_id: str | None = None) -> Answer:
    request_id = request_id or uuid.uuid4().hex[:16].upper()
    headers = [("x-amz-request-id", request_id), ("x-amz-id-2", uuid.uuid4().hex)]
    if method == "HEAD":
        return Answer("403 Forbidden", [*headers, ("Content-Length", "0")], b"")
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId>"
        f"<HostId>{uuid.uuid4().hex}</HostId></Error>"
    ).encode()
    return Answer("403 Forbidden", [*headers, ("Content-Type", "application/xml")], body)


def delete_errors(keys: list[tuple[str, str | None]]) -> str:
    """DeleteObjects' per-key refusals, as S3 lists them in a 200 answer."""
    out = []
    for key, version in keys:
        version_xml = f"<VersionId>{escape(version)}</VersionId>" if version else ""
        out.append(
            f"<Error><Key>{escape(key)}</Key>{version_xml}<Code>AccessDenied</Code>"
            "<Message>Access Denied</Message></Error>"
        )
    return "".join(out)


def delete_result(keys: list[tuple[str, str | None]]) -> Answer:
    """The whole answer to a DeleteObjects whose every key was refused: 200, errors only."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{delete_errors(keys)}</DeleteResult>'
    ).encode()
    return Answer(
        "200 OK", [("Content-Type", "application/xml"), ("x-amz-request-id", uuid.uuid4().hex[:16])], body
    )


def kms_through_secrets_denied() -> Answer:
    """What Secrets Manager answers a GetSecretValue whose caller may not decrypt with the secret's key."""
    return access_denied("secretsmanager", "POST", "Access to KMS is not allowed")
