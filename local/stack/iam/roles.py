"""The roles of the functions and the state machine, as the transformed template defines them.

template.yaml goes through the AWS::Serverless transform (the SAM translator `sam validate` and
CloudFormation use), which gives every function and state machine its own AWS::IAM::Role: the
template's `Policies:` as inline policies (SAM policy templates expanded), SAM's own additions (a
dead-letter queue's SendMessage, ...) and the AWS managed policies it attaches. Their intrinsics
(!Ref, !GetAtt, !Sub, !If on the template's conditions) are resolved against the local resources'
real names and ARNs once they exist, as CloudFormation resolves them on deploy."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..template import Resolver
from .policy import Policy
from .principals import MANAGED_POLICIES, Principal

log = logging.getLogger(__name__)
_NO_VALUE = "\x00AWS::NoValue\x00"
_TRANSFORM_LOCK = threading.Lock()  # the translator reads a process-wide region setting
RUNS_WITH_A_ROLE = {"AWS::Lambda::Function": "Role", "AWS::StepFunctions::StateMachine": "RoleArn"}


def transformed(template: Mapping[str, Any], parameters: Mapping[str, str], region: str) -> dict[str, Any]:
    """template.yaml (as local/stack/template.py loads it) after the AWS::Serverless transform."""
    text = json.dumps(template, sort_keys=True, default=str)
    key = hashlib.sha256(text.encode()).hexdigest()
    return copy.deepcopy(_transform(key, text, tuple(sorted(parameters.items())), region))


@lru_cache(maxsize=8)
def _transform(_key: str, text: str, parameters: tuple[tuple[str, str], ...], region: str) -> dict[str, Any]:
    import boto3
    from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
    from samtranslator.translator.arn_generator import ArnGenerator  # type: ignore[import-untyped]
    from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

    sam = json.loads(text)
    for name, resource in sam.get("Resources", {}).items():
        props = resource.get("Properties", {})
        for local_path in ("CodeUri", "ContentUri", "DefinitionUri"):  # deployed code is not read here
            if isinstance(props.get(local_path), str):
                props[local_path] = f"s3://local-stack-placeholder/{name}"
    values = {"AWS::Region": region, "AWS::Partition": "aws", **dict(parameters)}
    with _TRANSFORM_LOCK:
        previous = ArnGenerator.BOTO_SESSION_REGION_NAME
        ArnGenerator.BOTO_SESSION_REGION_NAME = region
        quiet = logging.getLogger("samtranslator")
        level, quiet.level = quiet.level, logging.ERROR
        try:
            translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
            return dict(translator.translate(sam, parameter_values=values, get_managed_policy_map=dict))
        finally:
            ArnGenerator.BOTO_SESSION_REGION_NAME = previous
            quiet.setLevel(level)


@dataclass
class RolePlan:
    """Each function's and the state machine's role, planned before anything is created: names and
    credentials are known at once, the policies once the resources they name exist (`resolve`)."""

    template: dict[str, Any]  # the transformed template
    stack: str
    roles: dict[str, str] = field(default_factory=dict)  # runner logical id -> role logical id
    principals: dict[str, Principal] = field(default_factory=dict)  # runner logical id -> principal
    # runner logical id -> its role's inline policies, resolved: (name, document)
    documents: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)

    @classmethod
    def plan(cls, template: dict[str, Any], stack: str, sessions: Mapping[str, str]) -> RolePlan:
        """`sessions`: each function's or state machine's physical name (its role session name)."""
        plan = cls(template, stack)
        for logical, resource in template.get("Resources", {}).items():
            attribute = RUNS_WITH_A_ROLE.get(resource.get("Type", ""))
            if attribute is None or logical not in sessions:
                continue
            role = resource.get("Properties", {}).get(attribute)
            if not (isinstance(role, dict) and "Fn::GetAtt" in role):
                continue  # a role the template does not create: none to reproduce
            target = role["Fn::GetAtt"]
            role_logical = target[0] if isinstance(target, list) else str(target).split(".", 1)[0]
            plan.roles[logical] = role_logical
            plan.principals[logical] = Principal(
                logical_id=logical, session=sessions[logical], role_name=f"{stack}-{role_logical}"[:64]
            )
        return plan

    def role_arn(self, logical: str) -> str | None:
        principal = self.principals.get(logical)
        return principal.role_arn if principal else None

    def credentials(self, logical: str) -> dict[str, str]:
        principal = self.principals.get(logical)
        return principal.credentials() if principal else {}

    def resolve(self, resolver: Resolver) -> list[Principal]:
        """Every role's policies, their intrinsics resolved against the created resources."""
        local = Resolver(self.template, resolver.parameters, resolver.pseudo)
        local.physical = resolver.physical
        for logical, principal in self.principals.items():
            props = self.role_properties(logical)
            self.documents[logical] = [
                (p["PolicyName"], resolve(local, p["PolicyDocument"])) for p in props.get("Policies", [])
            ]
            principal.inline = tuple(Policy.parse(name, doc) for name, doc in self.documents[logical])
            managed = resolve(local, props.get("ManagedPolicyArns", []))
            principal.managed = tuple(_managed(arn) for arn in managed)
        return list(self.principals.values())

    def role_properties(self, logical: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.template["Resources"][self.roles[logical]].get("Properties", {})
        return properties


def _managed(arn: str) -> Policy:
    document = MANAGED_POLICIES.get(arn)
    if document is None:
        log.warning("no local copy of the managed policy %s: it grants nothing locally", arn)
        document = {"Statement": []}
    return Policy.parse(arn.rsplit("/", 1)[-1], document)


def resolve(resolver: Resolver, value: Any) -> Any:
    """The resolver's intrinsics, plus AWS::NoValue: what it stands for is left out."""
    return _prune(resolver.resolve(_mark_no_value(value)))


def _mark_no_value(value: Any) -> Any:
    if isinstance(value, dict):
        if value == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        return {k: _mark_no_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark_no_value(v) for v in value]
    return value


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v != _NO_VALUE}
    if isinstance(value, list):
        return [_prune(v) for v in value if v != _NO_VALUE]
    return value
