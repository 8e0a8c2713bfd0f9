"""Clients and resources the deployment makes as someone other than the stack: a client signed with
a function's role (the SQS pollers, as Lambda's event source mappings read with it), and a secret
the user brings, encrypted with their own KMS key (ExistingCredentialsSecretArn)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3


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
