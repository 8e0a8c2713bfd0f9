"""The WSGI middleware in front of moto's server: a request signed with a principal's access key is
authorised against that principal's role before moto sees it; any other request (the local stack's
own provisioning, the tests' and the CLI's clients, all signed with the account's own keys) passes.

Beyond the plain checks it reproduces three answers of S3 and Secrets Manager that depend on the
caller's permissions: a GetObject/HeadObject of a missing key is 404 only for a caller with
s3:ListBucket on the bucket, 403 otherwise; DeleteObjects authorises s3:DeleteObject key by key and
answers 200 listing the refused keys as <Error>s; GetSecretValue of a secret under a customer key
needs the caller's own kms:Decrypt (answered "Access to KMS is not allowed")."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from .answers import Answer, delete_errors, delete_result, kms_through_secrets_denied, s3_access_denied
from .calls import Check, Plan, Unmapped
from .gate import IamGate
from .principals import Principal
from .request import Request, credential_of, read_request, replace_body
from .s3_calls import bucket_arn, keep_only, object_arn

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class IamMiddleware:
    def __init__(self, app: WsgiApp, gate: IamGate) -> None:
        self.app = app
        self.gate = gate

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        credential = credential_of(environ, self.gate.region) if self.gate.mode != "off" else None
        principal = self.gate.principals.by_key(credential.access_key_id) if credential else None
        if principal is None or credential is None:
            return self.app(environ, start_response)
        request = read_request(environ, credential)
        try:
            plan = self.gate.plan(request)
        except Unmapped as problem:
            answer = self.gate.unmapped(principal, request, problem)
            return _send(answer, start_response) if answer else self.app(environ, start_response)
        refusal = self.gate.refusal(principal, request, plan)
        if refusal is not None:
            return _send(refusal.answer, start_response)
        if plan.delete_keys is not None:
            return self._delete_objects(environ, start_response, principal, request, plan)
        if plan.secret_id and self.gate.secret_key_refused(principal, request, plan.secret_id):
            return _send(kms_through_secrets_denied(), start_response)
        if plan.object_read is not None:
            return self._object_read(environ, start_response, principal, request, plan)
        return self.app(environ, start_response)

    def _object_read(
        self, environ: dict[str, Any], start_response: Callable[..., Any], principal: Principal,
        request: Request, plan: Plan,
    ) -> Iterable[bytes]:  # fmt: skip
        status, headers, body = _call(self.app, environ)
        if not status.startswith("404"):
            start_response(status, headers)
            return body
        content = b"".join(body)
        _close(body)
        missing_key = request.method == "HEAD" or b"NoSuchKey" in content
        if missing_key:
            assert plan.object_read is not None
            bucket, _ = plan.object_read
            check = Check("s3:ListBucket", bucket_arn(bucket))
            note = "a missing key: 404 with s3:ListBucket on the bucket, 403 without"
            decision = self.gate.decide(principal, request, check, plan.operation, note=note)
            if not decision.allowed and self.gate.enforcing:
                return _send(s3_access_denied(request.method), start_response)
        start_response(status, headers)
        return [content]

    def _delete_objects(
        self, environ: dict[str, Any], start_response: Callable[..., Any], principal: Principal,
        request: Request, plan: Plan,
    ) -> Iterable[bytes]:  # fmt: skip
        bucket = request.path.strip("/").split("/", 1)[0]
        keys = plan.delete_keys or []
        refused = []
        for key, version in keys:
            action = "s3:DeleteObjectVersion" if version else "s3:DeleteObject"
            check = Check(action, object_arn(bucket, key))
            if not self.gate.decide(principal, request, check, plan.operation).allowed:
                refused.append((key, version))
        if not refused or not self.gate.enforcing:
            return self.app(environ, start_response)
        if len(refused) == len(keys):
            return _send(delete_result(refused), start_response)
        _rewrite_delete_body(environ, keep_only(request.body, set(keys) - set(refused)))
        status, headers, body = _call(self.app, environ)
        content = b"".join(body)
        _close(body)
        if status.startswith("200"):
            content = content.replace(
                b"</DeleteResult>", delete_errors(refused).encode() + b"</DeleteResult>"
            )
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(content))))
        start_response(status, headers)
        return [content]


def _rewrite_delete_body(environ: dict[str, Any], body: bytes) -> None:
    """moto gets only the keys the caller may delete (checksums of the new body, as an SDK sends)."""
    replace_body(environ, body)
    for name in [k for k in environ if k.startswith("HTTP_X_AMZ_CHECKSUM_")]:
        del environ[name]
    environ.pop("HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM", None)
    environ["HTTP_CONTENT_MD5"] = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()


def _send(answer: Answer, start_response: Callable[..., Any]) -> list[bytes]:
    headers = [(k, v) for k, v in answer.headers if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(answer.body))))
    start_response(answer.status, headers)
    return [answer.body]


def _call(app: WsgiApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], Iterable[bytes]]:
    """Run the app, holding back its answer (for the answers rewritten here, all small)."""
    seen: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        seen["status"], seen["headers"] = status, list(headers)
        return lambda data: None

    body = app(environ, capture)
    if "status" not in seen:  # an app that answers lazily: its first chunk starts the answer
        iterator = iter(body)
        first = next(iterator, b"")
        body = [first, *iterator]
    return seen["status"], seen["headers"], body


def _close(body: Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()
