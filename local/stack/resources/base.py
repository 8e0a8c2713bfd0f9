"""What every resource type entry works with: the planned names, the options, moto's clients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..execution_events import Rule
from ..functions import FunctionSpec
from ..options import DeploymentOptions
from ..queue_sources import QueueSource
from ..schedules import Schedule
from ..template import Physical, Resolver

ACCOUNT = "123456789012"


@dataclass
class Context:
    """One provisioning run: entries read the resolver and options and record what they made."""

    resolver: Resolver
    options: DeploymentOptions
    client_factory: Callable[[str], Any]
    # What the local deployment adds to every function's own environment (see LocalDeployment).
    runtime_env: dict[str, str]
    suffix: str
    role_arn: str = ""  # the role of a runner whose role the template does not define
    # each function's and state machine's own role (by logical id), and a function's credentials
    role_arns: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    event_rules: list[Rule] = field(default_factory=list)
    queue_sources: list[QueueSource] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)

    @property
    def template(self) -> dict[str, Any]:
        return self.resolver.template

    @property
    def stack(self) -> str:
        return self.options.stack_name

    def role_for(self, logical: str) -> str:
        return self.role_arns.get(logical, self.role_arn)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.options.region}:{ACCOUNT}:{resource}"

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.client_factory(service)
        return self._clients[service]


class ResourceType:
    """One CloudFormation resource type: its physical name and attributes, and how to create it.

    `plan` runs for every resource before anything is created, as CloudFormation knows names and ARNs
    up front; `create` may return the Physical that replaces the plan (e.g. an ARN moto assigned).
    The default `create` makes nothing: the type only needs a name locally.
    """

    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        raise NotImplementedError

    def create(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical | None:
        return None


def slug(logical: str) -> str:
    """`VideoBucket` -> `video-bucket`."""
    out = []
    for i, ch in enumerate(logical):
        if ch.isupper() and i and not logical[i - 1].isupper():
            out.append("-")
        out.append(ch.lower())
    return "".join(out)
