"""Who calls: each function's and the state machine's role, with the credentials its code signs with.

A principal is one role session (`arn:aws:sts::<account>:assumed-role/<role>/<session>`): the role's
policies (the template's inline policies, SAM's additions, and local copies of the AWS managed
policies SAM attaches) and the access key its requests carry. The registry answers the middleware's
question "whose key is this?"; a key it does not know is the account's own (the local stack itself,
the tests, the CLI), which nothing here restricts."""

from __future__ import annotations

import secrets
import string
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..resources.base import ACCOUNT
from .policy import Policy

# Local copies of the AWS managed policies SAM attaches to these roles (their published documents).
MANAGED_POLICIES: dict[str, dict[str, Any]] = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ]
    },
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:GetSamplingStatisticSummaries",
                ],
                "Resource": "*",
            }
        ]
    },
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            },
        ]
    },
}


def new_access_key() -> str:
    """A temporary key id, as STS issues them (ASIA + 16 upper-case letters and digits)."""
    return "ASIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))


@dataclass
class Principal:
    logical_id: str  # the template resource whose role this is (a function or the state machine)
    session: str  # the role session name: the function's name, or the state machine's
    role_name: str
    inline: tuple[Policy, ...] = ()
    managed: tuple[Policy, ...] = ()
    access_key_id: str = field(default_factory=new_access_key)
    secret_access_key: str = field(default_factory=lambda: secrets.token_urlsafe(30), repr=False)
    session_token: str = field(default_factory=lambda: secrets.token_urlsafe(60), repr=False)
    local_denies: list[Policy] = field(default_factory=list)

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/{self.role_name}"

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.role_name}/{self.session}"

    @property
    def policies(self) -> tuple[Policy, ...]:
        return (*self.inline, *self.managed, *self.local_denies)

    def credentials(self) -> dict[str, str]:
        """The role's credentials as Lambda hands them to a function: environment variables."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }

    def context(self) -> dict[str, str]:
        """The global condition keys every request of this principal carries."""
        return {
            "aws:PrincipalArn": self.role_arn,
            "aws:PrincipalAccount": ACCOUNT,
            "aws:PrincipalType": "AssumedRole",
            "aws:userid": f"AROA{self.access_key_id[4:]}:{self.session}",
        }


class Principals:
    """The deployment's principals by access key, role ARN and logical id."""

    def __init__(self) -> None:
        self._by_key: dict[str, Principal] = {}
        self._lock = threading.Lock()

    def add(self, principal: Principal) -> None:
        with self._lock:
            self._by_key[principal.access_key_id] = principal

    def clear(self) -> None:
        with self._lock:
            self._by_key.clear()

    def by_key(self, access_key_id: str) -> Principal | None:
        return self._by_key.get(access_key_id)

    def by_role_arn(self, role_arn: str) -> Principal | None:
        return next((p for p in self if p.role_arn == role_arn), None)

    def by_logical_id(self, logical_id: str) -> Principal:
        found = next((p for p in self if p.logical_id == logical_id), None)
        if found is None:
            raise KeyError(f"no principal for {logical_id}")
        return found

    def __iter__(self) -> Iterator[Principal]:
        return iter(list(self._by_key.values()))

    def deny(self, logical_id: str, action: str, resource: str = "*") -> None:
        """Take a permission away from a running deployment (an explicit Deny, as a permissions
        boundary or an SCP would): for trying what a function does without it."""
        principal = self.by_logical_id(logical_id)
        statement = {"Effect": "Deny", "Action": action, "Resource": resource}
        principal.local_denies.append(
            Policy.parse(f"LocalDeny{len(principal.local_denies)}", {"Statement": [statement]})
        )
