"""Clients and resources the deployment makes as someone other than the stack: a client signed with
a function's role (the SQS pollers, as Lambda's event source mappings read with it), a secret the
user brings, encrypted with their own KMS key (ExistingCredentialsSecretArn), and the user's own
media bucket and key the videos may go to (DestinationBucketName, DestinationKmsKeyArn)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError

from .options import DeploymentConfigError


def role_client(service: str, endpoint_url: str, region: str, credentials: dict[str, str]) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )


def existing_credentials_secret(client: Callable[[str], Any], stack: str, app_id: str, user_key: str) -> str:
    """A credentials secret made before the stack, under a customer-managed key, as a user who
    brings their own passes it in ExistingCredentialsSecretArn: its ARN."""
    key = client("kms").create_key(Description=f"{stack}: the user's own key for the AI Studios credentials")
    secret = client("secretsmanager").create_secret(
        Name=f"{stack}-existing-credentials",
        KmsKeyId=key["KeyMetadata"]["Arn"],
        SecretString=json.dumps({"appId": app_id, "userKey": user_key}),
    )
    return str(secret["ARN"])


def destination_key(client: Callable[[str], Any], key: str) -> str:
    """The user's KMS key as its ARN: an existing key (ARN or alias), or, for an alias the local AWS
    does not have yet (it starts empty with every stack), a new key under that alias."""
    kms = client("kms")
    try:
        return str(kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NotFoundException" or not key.startswith("alias/"):
            raise DeploymentConfigError(
                f"DEST_KMS_KEY {key}: no such key on the local AWS (use alias/<name>)"
            ) from None
    created = kms.create_key(Description=f"the user's own key for their media bucket ({key})")["KeyMetadata"]
    kms.create_alias(AliasName=key, TargetKeyId=created["KeyId"])
    return str(created["Arn"])


def destination_bucket(client: Callable[[str], Any], bucket: str, key_arn: str) -> None:
    """The user's media bucket as a team would have it before the stack: objects owned by the
    bucket's owner, public access blocked, encrypted by default (with their key, if they have one).
    Used as it is when the local AWS already has it."""
    s3 = client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    block = dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)
    default = (
        {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn} if key_arn else {"SSEAlgorithm": "AES256"}
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": bool(key_arn)}]
        },
    )
