"""Notifications: SNS topics."""

from __future__ import annotations

from typing import Any

from ..template import Physical
from .base import Context, ResourceType, slug


class Topic(ResourceType):
    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        name = f"{ctx.stack}-{slug(logical)}"
        return Physical(ctx.arn("sns", name), {"TopicName": name})

    def create(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical | None:
        props = ctx.resolver.resolve(resource["Properties"])
        attributes = {"DisplayName": props.get("DisplayName", logical)}
        if props.get("KmsMasterKeyId"):
            attributes["KmsMasterKeyId"] = props["KmsMasterKeyId"]
        planned = ctx.resolver.physical[logical]
        topic_arn = ctx.client("sns").create_topic(Name=planned.attrs["TopicName"], Attributes=attributes)[
            "TopicArn"
        ]
        return Physical(topic_arn, planned.attrs)
