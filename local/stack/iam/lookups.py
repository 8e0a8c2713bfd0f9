"""What the mapping needs to know of moto's state, read from its backends in this process: a
table's keys, a secret's ARN and key, a KMS key's ARN, the state machine behind a task token."""

from __future__ import annotations

from typing import Any

from ..resources.base import ACCOUNT
from .calls import SecretInfo

AWS_MANAGED_SECRETS_KEY = "alias/aws/secretsmanager"


class MotoLookups:
    def table_keys(self, region: str, table: str) -> tuple[str, str | None] | None:
        from moto.dynamodb.models import dynamodb_backends

        name = table.rsplit("/", 1)[-1] if table.startswith("arn:") else table
        try:
            found = dynamodb_backends[ACCOUNT][region].get_table(name)
        except Exception:  # noqa: BLE001 - no such table: DynamoDB answers that itself
            return None
        return str(found.hash_key_attr), found.range_key_attr

    def secret(self, region: str, secret_id: str) -> SecretInfo | None:
        from moto.secretsmanager.models import secretsmanager_backends

        found: Any = secretsmanager_backends[ACCOUNT][region].secrets.get(secret_id)
        if found is None:
            return None
        return SecretInfo(
            found.arn, getattr(found, "kms_key_id", None), getattr(found, "default_version_id", None)
        )

    def key_arn(self, region: str, key_id: str) -> str:
        if key_id.startswith("arn:") and ":key/" in key_id:
            return key_id
        from moto.kms.models import kms_backends

        backend = kms_backends[ACCOUNT][region]
        try:
            return str(backend.describe_key(key_id).arn)
        except Exception:  # noqa: BLE001 - an unknown key: KMS answers NotFound itself
            resource = key_id if key_id.startswith("alias/") else f"key/{key_id}"
            return f"arn:aws:kms:{region}:{ACCOUNT}:{resource}"

    def s3_kms_key(self, bucket: str, key: str, upload_id: str | None) -> str | None:
        from moto.s3.models import s3_backends

        try:
            found: Any = s3_backends[ACCOUNT]["aws"].buckets[bucket]
            item: Any = found.multiparts[upload_id] if upload_id else found.keys.get(key)
        except KeyError:  # no such bucket or upload: S3 answers that itself
            return None
        encryption = getattr(item, "sse_encryption" if upload_id else "encryption", None) if item else None
        return str(item.kms_key_id) if encryption == "aws:kms" and item.kms_key_id else None

    def state_machine_of_token(self, region: str, token: str) -> str | None:
        from moto.stepfunctions.responses import get_backend

        for machine in list(get_backend(ACCOUNT, region).state_machines):
            for execution in list(getattr(machine, "executions", [])):
                worker = getattr(execution, "exec_worker", None)
                env = getattr(worker, "env", None)
                pool = getattr(env, "callback_pool_manager", None)
                if pool is not None and pool.get(token) is not None:
                    return str(machine.arn)
        return None


def customer_key(kms_key_id: str | None) -> bool:
    """A secret under a customer key needs the caller's own kms:Decrypt; under Secrets Manager's
    AWS managed key (the default), the key's policy lets any principal of the account use it."""
    return bool(kms_key_id) and not str(kms_key_id).endswith(AWS_MANAGED_SECRETS_KEY)
