"""The decision for one request of one principal: the plan's checks evaluated against its role's
policies, each recorded; the first refused check refuses the request, in the service's own words.

Modes: `enforce` (the default) refuses as AWS would; `audit` decides and records the same but lets
every call through, to list in one run every call a template would refuse (a refused call usually
ends the path that would show the next); `off` neither checks nor records."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..resources.base import ACCOUNT
from .answers import Answer, access_denied, denial_message
from .calls import Check, ContextValue, Lookups, Plan, Unmapped
from .dynamodb_calls import plan_dynamodb
from .lookups import MotoLookups, customer_key
from .policy import Decision, evaluate
from .principals import Principal, Principals
from .record import Call, CallRecord
from .request import Request
from .s3_calls import plan_s3
from .service_calls import PLANNERS

MODES = ("enforce", "audit", "off")


@dataclass(frozen=True)
class Refusal:
    check: Check
    decision: Decision
    answer: Answer


def _shown(context: Mapping[str, ContextValue]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (key, value if isinstance(value, str) else ",".join(value)) for key, value in sorted(context.items())
    )


class IamGate:
    def __init__(
        self,
        principals: Principals | None = None,
        record: CallRecord | None = None,
        lookups: Lookups | None = None,
        mode: str = "enforce",
        region: str = "us-east-1",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"IAM mode {mode!r}: expected one of {', '.join(MODES)}")
        self.principals = principals or Principals()
        self.record = record or CallRecord()
        self.lookups: Lookups = lookups or MotoLookups()
        self.mode = mode
        self.region = region  # for the requests that do not name one (S3's SigV2)

    @property
    def enforcing(self) -> bool:
        return self.mode == "enforce"

    def plan(self, request: Request) -> Plan:
        if request.service == "s3":
            return plan_s3(request, self.lookups)
        if request.service == "dynamodb":
            return plan_dynamodb(request, self.lookups)
        planner = PLANNERS.get(request.service)
        if planner is None:
            raise Unmapped(f"requests to {request.service}")
        return planner(request, self.lookups)

    def context(
        self, principal: Principal, request: Request, extra: Mapping[str, ContextValue]
    ) -> dict[str, Any]:
        now = time.time()
        return {
            **principal.context(),
            "aws:RequestedRegion": request.region,
            # the local endpoint is plain http on loopback; on AWS the SDKs speak https
            "aws:SecureTransport": "true",
            "aws:ViaAWSService": "false",
            "aws:CurrentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "aws:EpochTime": str(int(now)),
            **extra,
        }

    def decide(
        self, principal: Principal, request: Request, check: Check, operation: str, note: str = ""
    ) -> Decision:
        """One check, evaluated and recorded."""
        context = self.context(principal, request, check.context)
        decision = evaluate(principal.policies, check.action, check.resource, context)
        statements = decision.allowed_by or ((decision.denied_by,) if decision.denied_by else ())
        shown = () if decision.allowed else _shown(check.context)
        if request.sigv2:
            note = "; ".join(
                filter(None, [note, "signed with SigV2 (AWS refuses it for buckets made since 2020-06-24)"])
            )
        call = Call(
            principal.logical_id, operation, check.action, check.resource, decision.allowed, statements
        )
        self.record.add(replace(call, note=note, context=shown))
        return decision

    def refusal(self, principal: Principal, request: Request, plan: Plan) -> Refusal | None:
        """The first of the plan's checks the principal may not make (every check is recorded)."""
        refused = None
        for check in plan.checks:
            decision = self.decide(principal, request, check, plan.operation)
            if not decision.allowed and refused is None:
                message = denial_message(
                    principal.arn,
                    check.action,
                    check.resource,
                    decision.because(check.action),
                    request.service,
                )
                refused = Refusal(check, decision, access_denied(request.service, request.method, message))
        return refused if self.enforcing else None

    def unmapped(self, principal: Principal, request: Request, problem: Unmapped) -> Answer | None:
        self.record.add(
            Call(principal.logical_id, "?", f"{request.service}:?", str(problem), False, (), "unmapped")
        )
        message = (
            f"User: {principal.arn} is not authorized: the local stack cannot map {problem} to an IAM action"
        )
        return access_denied(request.service, request.method, message) if self.enforcing else None

    def secret_key_refused(self, principal: Principal, request: Request, secret_id: str) -> bool:
        """Secrets Manager decrypts a secret under a customer key as the caller: kms:Decrypt on the
        key, via secretsmanager.<region>.amazonaws.com, with the secret's ARN as encryption context."""
        info = self.lookups.secret(request.region, secret_id)
        if info is None or not customer_key(info.kms_key_id):
            return False
        context: dict[str, ContextValue] = {
            "kms:ViaService": f"secretsmanager.{request.region}.amazonaws.com",
            "kms:CallerAccount": ACCOUNT,
            "kms:EncryptionContext:SecretARN": info.arn,
            "kms:EncryptionContextKeys": ["SecretARN", "SecretVersionId"],
            "aws:ViaAWSService": "true",
            "aws:CalledVia": ["secretsmanager.amazonaws.com"],
        }
        if info.version_id:
            context["kms:EncryptionContext:SecretVersionId"] = info.version_id
        key = self.lookups.key_arn(request.region, str(info.kms_key_id))
        check = Check("kms:Decrypt", key, context)
        decision = self.decide(principal, request, check, "GetSecretValue", note="via Secrets Manager")
        return not decision.allowed and self.enforcing
