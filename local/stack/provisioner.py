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
from .options import DeploymentOptions
from .queue_sources import QueueSource
from .resources import ACCOUNT, RESOURCE_TYPES, Context
from .template import Physical, Resolver, resources_of_type


@dataclass(frozen=True)
class Provisioned:
    """What the deployment needs next: the template's Outputs and the functions to supervise."""

    outputs: dict[str, Any]
    functions: dict[str, FunctionSpec]
    event_rules: list[Rule]
    queue_sources: list[QueueSource]


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
    """The one execution role moto requires of functions and state machines (it enforces no policy)."""
    role = ctx.client("iam").create_role(
        RoleName=f"{ctx.stack}-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    return str(role["Role"]["Arn"])
