"""A request as IAM sees it: the action(s) it needs, on which resource(s), with which condition
keys. One `Plan` per request; every check in it must be allowed (a TransactWriteItems needs each
item's action on its table, a PutEvents PutEvents on each entry's bus, a copy both ends)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

ContextValue = str | Sequence[str]


class Unmapped(Exception):
    """The local stack cannot tell which IAM action a request needs: it is refused, not guessed."""


@dataclass(frozen=True)
class Check:
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass
class Plan:
    operation: str
    checks: list[Check]
    # S3 GetObject/HeadObject (bucket, key): a missing key is 404 only with s3:ListBucket, else 403
    object_read: tuple[str, str] | None = None
    # S3 DeleteObjects: each key is authorised on its own, and refused in the answer's <Error>s
    delete_keys: list[tuple[str, str | None]] | None = None
    # Secrets Manager GetSecretValue of a secret under a customer key: the caller's kms:Decrypt too
    secret_id: str | None = None


@dataclass(frozen=True)
class SecretInfo:
    arn: str
    kms_key_id: str | None
    version_id: str | None


class Lookups(Protocol):
    """What the mapping asks of the running services (moto's backends, in this process)."""

    def table_keys(self, region: str, table: str) -> tuple[str, str | None] | None: ...

    def secret(self, region: str, secret_id: str) -> SecretInfo | None: ...

    def key_arn(self, region: str, key_id: str) -> str: ...

    def state_machine_of_token(self, region: str, token: str) -> str | None: ...

    def s3_kms_key(self, bucket: str, key: str, upload_id: str | None) -> str | None:
        """The KMS key an object (or a multipart upload in progress) is encrypted with, if SSE-KMS."""
        ...
