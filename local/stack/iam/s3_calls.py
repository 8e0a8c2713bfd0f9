"""S3's REST requests as IAM actions (the S3 User Guide's "Required permissions for Amazon S3 API
operations"): object operations on `arn:aws:s3:::bucket/key`, bucket operations on the bucket.
Path-style requests, as boto3 makes them against the loopback endpoint, and presigned URLs."""

from __future__ import annotations

import re
from html import unescape

from ..resources.base import ACCOUNT
from .calls import Check, Lookups, Plan, Unmapped
from .request import Request

# Bucket sub-resources: query parameter -> action by method.
_BUCKET: dict[str, dict[str, tuple[str, str]]] = {
    "uploads": {"GET": ("ListMultipartUploads", "s3:ListBucketMultipartUploads")},
    "versions": {"GET": ("ListObjectVersions", "s3:ListBucketVersions")},
    "location": {"GET": ("GetBucketLocation", "s3:GetBucketLocation")},
    "policy": {
        "GET": ("GetBucketPolicy", "s3:GetBucketPolicy"),
        "PUT": ("PutBucketPolicy", "s3:PutBucketPolicy"),
        "DELETE": ("DeleteBucketPolicy", "s3:DeleteBucketPolicy"),
    },
    "notification": {"GET": ("GetBucketNotificationConfiguration", "s3:GetBucketNotification")},
    "encryption": {"GET": ("GetBucketEncryption", "s3:GetEncryptionConfiguration")},
    "lifecycle": {"GET": ("GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration")},
}
# Object sub-resources: query parameter -> action by method.
_OBJECT: dict[str, dict[str, tuple[str, str]]] = {
    "tagging": {
        "GET": ("GetObjectTagging", "s3:GetObjectTagging"),
        "PUT": ("PutObjectTagging", "s3:PutObjectTagging"),
        "DELETE": ("DeleteObjectTagging", "s3:DeleteObjectTagging"),
    },
    "acl": {"GET": ("GetObjectAcl", "s3:GetObjectAcl"), "PUT": ("PutObjectAcl", "s3:PutObjectAcl")},
    "retention": {"GET": ("GetObjectRetention", "s3:GetObjectRetention")},
    "legal-hold": {"GET": ("GetObjectLegalHold", "s3:GetObjectLegalHold")},
}
# The action a sub-resource request needs when it names a version (the Service Authorization
# Reference); retention and legal hold have no version action of their own.
_VERSIONED = {
    "s3:GetObjectTagging": "s3:GetObjectVersionTagging",
    "s3:PutObjectTagging": "s3:PutObjectVersionTagging",
    "s3:DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
    "s3:GetObjectAcl": "s3:GetObjectVersionAcl",
    "s3:PutObjectAcl": "s3:PutObjectVersionAcl",
}
_OBJECT_BLOCK = re.compile(r"<Object>(.*?)</Object>", re.DOTALL)
_KEY = re.compile(r"<Key>(.*?)</Key>", re.DOTALL)
_VERSION = re.compile(r"<VersionId>(.*?)</VersionId>", re.DOTALL)


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def plan_s3(request: Request, lookups: Lookups | None = None) -> Plan:
    bucket, _, key = request.path.lstrip("/").partition("/")
    if not bucket:
        if request.method == "GET":
            return Plan("ListBuckets", [Check("s3:ListAllMyBuckets", "*")])
        raise Unmapped(f"S3 {request.method} /")
    context = _headers_context(request)
    if key:
        plan = _object_plan(request, bucket, key, context)
        if lookups is not None:
            plan.checks.extend(_kms_checks(request, plan.operation, bucket, key, lookups))
        return plan
    return _bucket_plan(request, bucket, context)


def _kms_checks(request: Request, operation: str, bucket: str, key: str, lookups: Lookups) -> list[Check]:
    """SSE-KMS: S3 uses the key as the caller (the S3 User Guide's "Using server-side encryption
    with AWS KMS keys"): a new object's or upload's data key is generated (kms:GenerateDataKey), and
    decrypted for each part, the completion and every read (kms:Decrypt)."""
    if operation in ("PutObject", "CreateMultipartUpload"):
        if request.headers.get("x-amz-server-side-encryption") != "aws:kms":
            return []  # a bucket's KMS default is not looked at here
        key_id, action = (
            request.headers.get("x-amz-server-side-encryption-aws-kms-key-id"),
            "kms:GenerateDataKey",
        )
    elif operation in ("UploadPart", "CompleteMultipartUpload", "GetObject"):
        upload_id = None if operation == "GetObject" else request.param("uploadId")
        key_id, action = lookups.s3_kms_key(bucket, key, upload_id), "kms:Decrypt"
    else:
        return []
    if not key_id:
        return []
    context = {
        "kms:ViaService": f"s3.{request.region}.amazonaws.com",
        "kms:CallerAccount": ACCOUNT,
        "aws:ViaAWSService": "true",
        "aws:CalledVia": ["s3.amazonaws.com"],
    }
    return [Check(action, lookups.key_arn(request.region, key_id), context)]


def _headers_context(request: Request) -> dict[str, str]:
    context = {}
    for header in ("x-amz-acl", "x-amz-server-side-encryption", "x-amz-storage-class"):
        if header in request.headers:
            context[f"s3:{header}"] = request.headers[header]
    return context


def _bucket_plan(request: Request, bucket: str, context: dict[str, str]) -> Plan:
    arn, method = bucket_arn(bucket), request.method
    for sub, by_method in _BUCKET.items():
        if request.has(sub) and method in by_method:
            operation, action = by_method[method]
            return Plan(operation, [Check(action, arn, context)])
    if method == "POST" and request.has("delete"):
        keys = delete_keys(request.body)
        return Plan("DeleteObjects", [], delete_keys=keys)
    if method in ("GET", "HEAD") and not any(request.has(s) for s in ("acl", "cors", "website", "tagging")):
        listing = {
            f"s3:{name}": request.param(name) or ""
            for name in ("prefix", "delimiter", "max-keys")
            if request.has(name)
        }
        operation = "HeadBucket" if method == "HEAD" else "ListObjects"
        return Plan(operation, [Check("s3:ListBucket", arn, {**context, **listing})])
    if method == "PUT" and not request.query:
        return Plan("CreateBucket", [Check("s3:CreateBucket", arn, context)])
    if method == "DELETE" and not request.query:
        return Plan("DeleteBucket", [Check("s3:DeleteBucket", arn, context)])
    raise Unmapped(f"S3 {method} on bucket {bucket} with {sorted(request.query)}")


def _object_plan(request: Request, bucket: str, key: str, context: dict[str, str]) -> Plan:
    arn, method = object_arn(bucket, key), request.method
    versioned = request.has("versionId")
    for sub, by_method in _OBJECT.items():
        if request.has(sub) and method in by_method:
            operation, action = by_method[method]
            return Plan(
                operation, [Check(_VERSIONED.get(action, action) if versioned else action, arn, context)]
            )
    if method in ("GET", "HEAD") and request.has("uploadId"):
        return Plan("ListParts", [Check("s3:ListMultipartUploadParts", arn, context)])
    if method in ("GET", "HEAD"):
        operation = "HeadObject" if method == "HEAD" else "GetObject"
        checks = [Check("s3:GetObjectVersion" if versioned else "s3:GetObject", arn, context)]
        if request.has("attributes"):
            operation = "GetObjectAttributes"
            checks.append(
                Check("s3:GetObjectVersionAttributes" if versioned else "s3:GetObjectAttributes", arn)
            )
        return Plan(operation, checks, object_read=None if versioned else (bucket, key))
    if method == "PUT":
        checks = [Check("s3:PutObject", arn, context)]
        source = request.headers.get("x-amz-copy-source")
        if source:
            checks.append(Check("s3:GetObject", _copy_source_arn(source)))
        operation = "UploadPart" if request.has("uploadId") else "PutObject"
        return Plan(operation + ("Copy" if source else ""), checks)
    if method == "POST" and request.has("uploads"):
        return Plan("CreateMultipartUpload", [Check("s3:PutObject", arn, context)])
    if method == "POST" and request.has("uploadId"):
        return Plan("CompleteMultipartUpload", [Check("s3:PutObject", arn, context)])
    if method == "DELETE" and request.has("uploadId"):
        return Plan("AbortMultipartUpload", [Check("s3:AbortMultipartUpload", arn, context)])
    if method == "DELETE":
        action = "s3:DeleteObjectVersion" if versioned else "s3:DeleteObject"
        return Plan("DeleteObject", [Check(action, arn, context)])
    raise Unmapped(f"S3 {method} on object {bucket}/{key} with {sorted(request.query)}")


def _copy_source_arn(source: str) -> str:
    from urllib.parse import unquote

    path = unquote(source.split("?", 1)[0]).lstrip("/")
    return f"arn:aws:s3:::{path}"


def delete_keys(body: bytes) -> list[tuple[str, str | None]]:
    """The keys (and versions) a DeleteObjects request names, in order."""
    text = body.decode("utf-8", "replace")
    keys = []
    for block in _OBJECT_BLOCK.findall(text):
        key, version = _KEY.search(block), _VERSION.search(block)
        if key:
            keys.append((unescape(key.group(1)), unescape(version.group(1)) if version else None))
    return keys


def keep_only(body: bytes, allowed: set[tuple[str, str | None]]) -> bytes:
    """The DeleteObjects body with only the objects the caller may delete."""
    text = body.decode("utf-8", "replace")

    def keep(match: re.Match[str]) -> str:
        key, version = _KEY.search(match.group(1)), _VERSION.search(match.group(1))
        name = (unescape(key.group(1)) if key else "", unescape(version.group(1)) if version else None)
        return match.group(0) if name in allowed else ""

    return _OBJECT_BLOCK.sub(keep, text).encode()
