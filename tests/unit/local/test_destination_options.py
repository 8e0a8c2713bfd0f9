"""`make up DEST_BUCKET=... DEST_KMS_KEY=... KEY_TEMPLATE=...`: the options read and checked before
anything starts, and the user's bucket and key made as they would exist in an account (moto
in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.stack.accounts import destination_bucket, destination_key
from local.stack.options import DeploymentConfigError, DeploymentOptions

pytestmark = pytest.mark.unit


def test_the_options_come_from_the_environment_and_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEST_BUCKET", "team-media")
    monkeypatch.setenv("DEST_KMS_KEY", "alias/team-media")
    monkeypatch.setenv("KEY_TEMPLATE", "campaigns/{date}/{exportId}.mp4")
    options = DeploymentOptions.from_env()
    assert (options.destination_bucket, options.destination_kms_key, options.key_template) == (
        "team-media",
        "alias/team-media",
        "campaigns/{date}/{exportId}.mp4",
    )
    monkeypatch.setenv("KEY_TEMPLATE", "campaigns/{date}/{projectId}.mp4")
    with pytest.raises(DeploymentConfigError, match=r"KEY_TEMPLATE .*must contain \{exportId\}"):
        DeploymentOptions.from_env()
    monkeypatch.delenv("KEY_TEMPLATE")
    monkeypatch.setenv("DEST_KMS_KEY", "team-media")
    with pytest.raises(DeploymentConfigError, match="DEST_KMS_KEY must be a KMS key ARN or alias/<name>"):
        DeploymentOptions.from_env()


@pytest.fixture
def account() -> Iterator[Any]:
    with mock_aws():
        yield lambda service: boto3.client(service, region_name="us-east-1")


def test_a_missing_bucket_and_key_are_made_as_a_team_would_have_them(account: Any) -> None:
    key = destination_key(account, "alias/team-media")
    assert destination_key(account, "alias/team-media") == key  # found, not made again
    assert destination_key(account, key) == key
    destination_bucket(account, "team-media", key)

    s3 = account("s3")
    rule = s3.get_bucket_encryption(Bucket="team-media")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    ownership = s3.get_bucket_ownership_controls(Bucket="team-media")["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert all(s3.get_public_access_block(Bucket="team-media")["PublicAccessBlockConfiguration"].values())
    with pytest.raises(DeploymentConfigError, match="no such key on the local AWS"):
        destination_key(
            account, "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        )


def test_an_existing_bucket_is_used_as_it_is(account: Any) -> None:
    s3 = account("s3")
    s3.create_bucket(Bucket="team-media")
    s3.put_object(Bucket="team-media", Key="already/there.mp4", Body=b"x")

    destination_bucket(account, "team-media", "")

    assert [o["Key"] for o in s3.list_objects_v2(Bucket="team-media")["Contents"]] == ["already/there.mp4"]
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_bucket_ownership_controls(Bucket="team-media")  # left alone
