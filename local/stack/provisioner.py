"""Turns template.yaml's resources into local resources on moto, as CloudFormation would.

Every resource's name and ARN is planned before anything is created, so any resource can refer to
any other; then each type's entry in `resources.RESOURCE_TYPES` creates its resources, in that order.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .execution_events import Rule
from .functions import FunctionSpec
from .iam import Principal, RolePlan, transformed
from .options import DeploymentOptions
from .queue_sources import QueueSource
from .resources import ACCOUNT, RESOURCE_TYPES, Context
from .schedules import Schedule
from .template import Physical, Resolver, resources_of_type

RUNNERS = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")


@dataclass(frozen=True)
class Provisioned:
    """What the deployment needs next: the template's Outputs and the functions to supervise."""

    outputs: dict[str, Any]
    functions: dict[str, FunctionSpec]
    event_rules: list[Rule]
    queue_sources: list[QueueSource]
    schedules: list[Schedule]
    # each function's and the state machine's role, with its resolved policies and credentials
    principals: list[Principal]


def provision(
    template: dict[str, Any],
    options: DeploymentOptions,
    parameters: dict[str, str],
    client: Callable[[str], Any],
    runtime_env: dict[str, str],
) -> Provisioned:
    """Create every resource of `template` whose type has an entry, with `parameters` overriding defaults."""
    resolver = Resolver(template, parameters, _pseudo_parameters(options))
    resolver.check_rules()
    ctx = Context(resolver, options, client, runtime_env, suffix=secrets.token_hex(4))
    resolver.physical = _plan(ctx)
    ctx.role_arn = _create_role(ctx)
    roles = _plan_roles(ctx)
    for kind, entry in RESOURCE_TYPES.items():
        for logical, resource in resources_of_type(template, kind).items():
            created = entry.create(ctx, logical, resource)
            if created is not None:
                resolver.physical[logical] = created
    outputs = {name: resolver.resolve(spec["Value"]) for name, spec in template.get("Outputs", {}).items()}
    return Provisioned(
        outputs=outputs,
        functions=dict(ctx.functions),
        event_rules=list(ctx.event_rules),
        queue_sources=list(ctx.queue_sources),
        schedules=list(ctx.schedules),
        principals=_resolve_roles(ctx, roles),
    )


def _pseudo_parameters(options: DeploymentOptions) -> dict[str, str]:
    return {
        "AWS::Region": options.region,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::StackName": options.stack_name,
        "AWS::URLSuffix": "amazonaws.com",
    }


def _plan(ctx: Context) -> dict[str, Physical]:
    """Names and ARNs of every resource, known before anything is created."""
    physical: dict[str, Physical] = {}
    for logical, resource in ctx.template["Resources"].items():
        entry = RESOURCE_TYPES.get(resource["Type"])
        if entry is not None:
            physical[logical] = entry.plan(ctx, logical, resource)
    return physical


def _create_role(ctx: Context) -> str:
    """A role for a function or state machine whose role the template does not create."""
    role = ctx.client("iam").create_role(
        RoleName=f"{ctx.stack}-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    return str(role["Role"]["Arn"])


def _plan_roles(ctx: Context) -> RolePlan:
    """Each function's and the state machine's own role, from the transformed template: created on
    moto's IAM (where `aws iam` can show it), its ARN and credentials known before the runners are."""
    sessions = {
        logical: ctx.resolver.physical[logical].attrs.get("Name", ctx.resolver.physical[logical].ref)
        for kind in RUNNERS
        for logical in resources_of_type(ctx.template, kind)
        if logical in ctx.resolver.physical
    }
    plan = RolePlan.plan(
        transformed(ctx.template, ctx.resolver.parameters, ctx.options.region), ctx.stack, sessions
    )
    for logical, principal in plan.principals.items():
        trust = plan.role_properties(logical).get("AssumeRolePolicyDocument", {})
        ctx.client("iam").create_role(
            RoleName=principal.role_name, AssumeRolePolicyDocument=json.dumps(trust)
        )
        ctx.role_arns[logical] = principal.role_arn
        ctx.credentials[logical] = principal.credentials()
        # SAM's generated role (<Function>Role), which Outputs may name
        ctx.resolver.physical.setdefault(
            f"{logical}Role", Physical(principal.role_name, {"Arn": principal.role_arn})
        )
    return plan


def _resolve_roles(ctx: Context, plan: RolePlan) -> list[Principal]:
    """The roles' policies, now that every resource they name exists."""
    principals = plan.resolve(ctx.resolver)
    for principal in principals:
        for name, document in plan.documents[principal.logical_id]:
            # moto's IAM refuses a document without a Version (IAM takes it as 2008-10-17) or with an
            # older one; this copy is for looking at: the middleware evaluates the template's own
            shown = {**document, "Version": "2012-10-17"}
            ctx.client("iam").put_role_policy(
                RoleName=principal.role_name, PolicyName=name, PolicyDocument=json.dumps(shown)
            )
    return principals
