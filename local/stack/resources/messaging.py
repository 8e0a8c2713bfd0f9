"""Messaging: SNS topics, EventBridge buses and rules, SQS queues."""

from __future__ import annotations

import json
from typing import Any

from ..template import Physical
from .base import ACCOUNT, Context, ResourceType, slug


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


class EventBus(ResourceType):
    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        name = ctx.resolver.resolve(resource["Properties"]["Name"])
        return Physical(name, {"Arn": ctx.arn("events", f"event-bus/{name}"), "Name": name})

    def create(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical | None:
        ctx.client("events").create_event_bus(Name=ctx.resolver.physical[logical].ref)
        return None


class Queue(ResourceType):
    """An SQS queue; a queue's dead-letter queue must come before it in the template."""

    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        name = f"{ctx.stack}-{slug(logical)}"
        url = f"{ctx.runtime_env['AWS_ENDPOINT_URL']}/{ACCOUNT}/{name}"
        return Physical(url, {"Arn": ctx.arn("sqs", name), "QueueName": name})

    def create(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical | None:
        props = ctx.resolver.resolve(resource.get("Properties", {}))
        planned = ctx.resolver.physical[logical]
        attributes = {
            name: str(props[name])
            for name in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")
            if name in props
        }
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = ctx.client("sqs").create_queue(QueueName=planned.attrs["QueueName"], Attributes=attributes)[
            "QueueUrl"
        ]
        return Physical(url, planned.attrs)


class Rule(ResourceType):
    """An EventBridge rule and its targets; moto matches the pattern and delivers to SQS targets."""

    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        # The ARN names the bus, whose name may not be planned yet: create() gives the real one.
        return Physical(f"{ctx.stack}-{slug(logical)}", {})

    def create(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical | None:
        props = ctx.resolver.resolve(resource["Properties"])
        name = ctx.resolver.physical[logical].ref
        bus = props.get("EventBusName", "default")
        events = ctx.client("events")
        arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(props["EventPattern"]))[
            "RuleArn"
        ]
        targets = [{"Id": t["Id"], "Arn": t["Arn"]} for t in props.get("Targets", [])]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        return Physical(name, {"Arn": arn})
