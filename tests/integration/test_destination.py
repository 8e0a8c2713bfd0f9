"""Delivering to a bucket of the team's own, as `make up DEST_BUCKET=... DEST_KMS_KEY=...
KEY_TEMPLATE=...` runs it: the bucket and key made before the stack (as they exist in an account),
an export landing at its templated key, encrypted with that key, verified byte for byte, with its
thumbnail and a working presigned link; every call held to the roles (local/stack/iam/), which may
write nowhere but under the template's fixed prefix."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from local.stack import LocalDeployment
from local.stack.accounts import role_client
from tests.helpers import new_project_id
from tests.integration.conftest import Api, deployment

pytestmark = pytest.mark.integration
MIB = 1024 * 1024
BUCKET, KEY_ALIAS = "team-media", "alias/team-media"
TEMPLATE = "campaigns/{date}/{name}-{exportId}.mp4"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    yield from deployment(
        tmp_path_factory,
        export_deadline_seconds=60,
        # three parts of 5 MiB, fetched by two connections: a real multipart upload
        video_size=12 * MIB,
        function_env={"DELIVERY_WORKERS": "2", "PART_SIZE_MB": "5"},
        destination_bucket=BUCKET,
        destination_kms_key=KEY_ALIAS,
        key_template=TEMPLATE,
    )


def _key_arn(stack: LocalDeployment) -> str:
    return str(stack.client("kms").describe_key(KeyId=KEY_ALIAS)["KeyMetadata"]["Arn"])


def test_an_export_lands_at_its_templated_key_encrypted_with_the_teams_key(stack: LocalDeployment) -> None:
    api, s3, project = Api(stack), stack.client("s3"), new_project_id()
    body = {"projectId": project, "name": "Spring launch", "metadata": {"campaign": "spring-2026"}}
    answer = api.post_export(body)
    assert answer.status_code == 202, answer.text
    export_id = answer.json()["exportId"]

    view = api.wait_final(export_id, timeout=60)

    assert view["status"] == "SUCCEEDED", view.get("error")
    video = view["video"]
    day = view["createdAt"][:10]
    assert (video["bucket"], video["key"]) == (BUCKET, f"campaigns/{day}/Spring-launch-{export_id}.mp4")
    stored = s3.get_object(Bucket=BUCKET, Key=video["key"], ChecksumMode="ENABLED")
    data = stored["Body"].read()
    assert stack.simulator is not None
    assert data == stack.simulator.render_video(project).read()  # this render's video, byte for byte
    assert hashlib.sha256(data).hexdigest() == video["sha256"]
    assert (stored["ServerSideEncryption"], stored["SSEKMSKeyId"]) == ("aws:kms", _key_arn(stack))
    assert stored["ChecksumCRC32C"]  # the full-object checksum S3 verified on completion
    assert stored["Metadata"]["campaign"] == "spring-2026"
    assert stored["Metadata"]["export-id"] == export_id
    assert 'filename="Spring launch.mp4"' in stored["ContentDisposition"]
    thumbnail = s3.head_object(Bucket=BUCKET, Key=video["key"].removesuffix(".mp4") + ".png")
    assert (thumbnail["SSEKMSKeyId"], thumbnail["Metadata"]["campaign"]) == (_key_arn(stack), "spring-2026")
    # the link GetExportFunction's role signs: read (and decrypted) through S3 as that role
    link = requests.get(video["downloadUrl"], timeout=30)
    assert link.status_code == 200
    assert link.content == data
    # nothing went to the stack's own bucket but request files and results
    assert "Contents" not in s3.list_objects_v2(Bucket=stack.endpoints["bucket"], Prefix="exports/")
    _every_call_allowed_and_the_key_used_through_s3(stack)


def _every_call_allowed_and_the_key_used_through_s3(stack: LocalDeployment) -> None:
    assert stack.iam.record.denied() == []
    used = {
        (call.principal, call.action, call.resource)
        for call in stack.iam.record.calls()
        if call.action.startswith("kms:") and call.allowed
    }
    key = _key_arn(stack)
    assert {
        ("DeliverExportFunction", "kms:GenerateDataKey", key),
        ("DeliverExportFunction", "kms:Decrypt", key),
        ("GetExportFunction", "kms:Decrypt", key),
    } <= used


def _as(stack: LocalDeployment, function: str) -> Any:
    principal = stack.iam.principals.by_logical_id(function)
    return role_client("s3", stack.aws_endpoint_url, stack.options.region, principal.credentials())


def _refused(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def test_the_delivering_role_can_write_nowhere_but_under_the_templates_prefix(stack: LocalDeployment) -> None:
    s3, key = _as(stack, "DeliverExportFunction"), _key_arn(stack)
    sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key}
    # the prefix itself: allowed (so the refusals below are about where, not what)
    s3.put_object(Bucket=BUCKET, Key="campaigns/probe.mp4", Body=b"x", **sse)

    outside = [
        lambda: s3.put_object(Bucket=BUCKET, Key="other/x.mp4", Body=b"x", **sse),
        lambda: s3.put_object(Bucket=BUCKET, Key="campaign/x.mp4", Body=b"x", **sse),
        lambda: s3.create_multipart_upload(Bucket=BUCKET, Key="x.mp4", **sse),
        lambda: s3.put_object(Bucket=stack.endpoints["bucket"], Key="exports/x.mp4", Body=b"x"),
        lambda: s3.put_object(Bucket=stack.endpoints["bucket"], Key="requests/x.json", Body=b"{}"),
        lambda: s3.delete_object(Bucket=BUCKET, Key="other/y.mp4"),
    ]
    assert [_refused(call) for call in outside] == ["AccessDenied"] * len(outside)
    # under the prefix, but with another key than the template's: KMS refuses it
    other = stack.client("kms").create_key()["KeyMetadata"]["Arn"]
    refused = _refused(
        lambda: s3.put_object(
            Bucket=BUCKET, Key="campaigns/y.mp4", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=other
        )
    )
    assert refused == "AccessDenied"
    denied = {(c.principal, c.action, c.resource) for c in stack.iam.record.denied()}
    assert ("DeliverExportFunction", "s3:PutObject", f"arn:aws:s3:::{BUCKET}/other/x.mp4") in denied
    assert ("DeliverExportFunction", "kms:GenerateDataKey", other) in denied
    # the link-signing role may read there but never write
    reader = _as(stack, "GetExportFunction")
    assert _refused(lambda: reader.put_object(Bucket=BUCKET, Key="campaigns/z.mp4", Body=b"x", **sse)) == (
        "AccessDenied"
    )


def test_a_versioned_bucket_takes_the_video_and_its_tag(stack: LocalDeployment) -> None:
    """A bucket that replicates must keep versions: S3 then answers the upload's completion with a
    VersionId, and tagging that version is s3:PutObjectVersionTagging, which the role holds."""
    s3 = stack.client("s3")
    refused_before = len(stack.iam.record.denied())  # the refusals the test before asked for
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    try:
        api = Api(stack)
        answer = api.post_export({"projectId": new_project_id(), "name": "Versioned"})
        assert answer.status_code == 202, answer.text
        view = api.wait_final(answer.json()["exportId"], timeout=60)
    finally:
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})

    assert view["status"] == "SUCCEEDED", view.get("error")
    head = s3.head_object(Bucket=BUCKET, Key=view["video"]["key"])
    assert head["VersionId"] not in (None, "null")
    tags = s3.get_object_tagging(Bucket=BUCKET, Key=view["video"]["key"], VersionId=head["VersionId"])
    assert tags["TagSet"]
    allowed = {(c.principal, c.action) for c in stack.iam.record.calls() if c.allowed}
    assert ("DeliverExportFunction", "s3:PutObjectVersionTagging") in allowed
    assert len(stack.iam.record.denied()) == refused_before
