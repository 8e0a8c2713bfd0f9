"""CloudFormation's own types: wait conditions. Nothing here can signal one (no instance runs a
cfn-signal, nobody holds the handle's presigned URL), so a wait condition that exists fails, as on
AWS once its Timeout passes unsignalled: the template uses one to refuse a deploy."""

from __future__ import annotations

from typing import Any

from ..options import DeploymentConfigError
from ..template import Physical
from .base import Context, ResourceType, slug


class WaitConditionHandle(ResourceType):
    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        # On AWS, a presigned S3 URL that a signal is PUT to.
        return Physical(f"https://cloudformation-waitcondition.invalid/{ctx.stack}/{slug(logical)}", {})


class WaitCondition(ResourceType):
    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        return Physical(ctx.arn("cloudformation", f"waitcondition/{ctx.stack}/{logical}"), {"Data": "{}"})

    def create(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical | None:
        if not ctx.resolver.resource_enabled(logical):
            return None
        count = int(ctx.resolver.resolve(resource.get("Properties", {}).get("Count", 1)))
        # At once, not after the Timeout: no signal can come. CloudFormation's own event text.
        raise DeploymentConfigError(
            f"the stack cannot be created: {logical} (AWS::CloudFormation::WaitCondition) "
            f"CREATE_FAILED: WaitCondition timed out. Received 0 conditions when expecting {count}"
        )
