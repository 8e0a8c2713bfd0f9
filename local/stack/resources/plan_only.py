"""Types that need only a name locally: log groups, layers (put on each worker's path), the REST API
(served by api_gateway.py), KMS keys (named by the topics they encrypt; moto does not check them)."""

from __future__ import annotations

import uuid
from typing import Any

from ..template import Physical
from .base import Context, ResourceType, slug


class LogGroup(ResourceType):
    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        default = f"/{ctx.stack}/{slug(logical)}"
        name = ctx.resolver.resolve(resource["Properties"].get("LogGroupName", default))
        return Physical(name, {"Arn": ctx.arn("logs", f"log-group:{name}:*")})


class Layer(ResourceType):
    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        return Physical(ctx.arn("lambda", f"layer:{ctx.stack}-{slug(logical)}:1"), {})


class RestApi(ResourceType):
    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        return Physical("local", {"RootResourceId": "root"})


class KmsKey(ResourceType):
    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.stack}/{logical}"))
        return Physical(key_id, {"Arn": ctx.arn("kms", f"key/{key_id}"), "KeyId": key_id})
