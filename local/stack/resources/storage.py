"""Where data is kept: S3 buckets, DynamoDB tables and Secrets Manager secrets."""

from __future__ import annotations

import json
import secrets
from typing import Any

from ..template import Physical
from .base import Context, ResourceType, slug


class Bucket(ResourceType):
    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        name = f"{ctx.stack}-{slug(logical)}-{ctx.suffix}"
        return Physical(name, {"Arn": f"arn:aws:s3:::{name}"})

    def create(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical | None:
        s3 = ctx.client("s3")
        name = ctx.resolver.physical[logical].ref
        props = ctx.resolver.resolve(resource.get("Properties", {}))
        s3.create_bucket(Bucket=name)
        for rule in props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", []):
            default = rule["ServerSideEncryptionByDefault"]
            encryption = {
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": default["SSEAlgorithm"]},
                "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
            }
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [encryption]})
        block = props.get("PublicAccessBlockConfiguration")
        if block:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
        if (
            props.get("NotificationConfiguration", {})
            .get("EventBridgeConfiguration", {})
            .get("EventBridgeEnabled")
        ):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
        if rules:
            s3.put_bucket_lifecycle_configuration(
                Bucket=name,
                LifecycleConfiguration={
                    "Rules": [
                        {
                            "ID": rule["Id"],
                            "Status": rule["Status"],
                            "Filter": {"Prefix": ""},
                            "AbortIncompleteMultipartUpload": rule["AbortIncompleteMultipartUpload"],
                        }
                        for rule in rules
                    ]
                },
            )
        return None


class Table(ResourceType):
    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        name = f"{ctx.stack}-{slug(logical)}"
        return Physical(name, {"Arn": ctx.arn("dynamodb", f"table/{name}")})

    def create(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical | None:
        props = ctx.resolver.resolve(resource["Properties"])
        name = ctx.resolver.physical[logical].ref
        args: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("SSESpecification", {}).get("SSEEnabled"):
            args["SSESpecification"] = {"Enabled": True}
        dynamodb = ctx.client("dynamodb")
        dynamodb.create_table(**args)
        if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        return None


class Secret(ResourceType):
    """The credentials secret (its template names an appId) holds the AI Studios credentials of the
    endpoint the deployment drives; any other secret gets a random value, as GenerateSecretString
    would give it (the webhook signing secret)."""

    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        return Physical(f"{ctx.stack}/{slug(logical)}", {})

    def create(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical | None:
        if not ctx.resolver.resource_enabled(logical):
            return None
        generate = resource.get("Properties", {}).get("GenerateSecretString", {})
        if "appId" in str(generate.get("SecretStringTemplate", "")):
            opts = ctx.options
            value = json.dumps({"appId": opts.aistudios_app_id, "userKey": opts.aistudios_user_key})
        else:
            length = int(generate.get("PasswordLength", 32))
            value = secrets.token_urlsafe(length)[:length]
        name = ctx.resolver.physical[logical].ref
        arn = ctx.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
        return Physical(arn, {})
