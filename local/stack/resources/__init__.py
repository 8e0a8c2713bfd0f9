"""The resource types the local deployment provisions, in creation order.

Adding a type means adding an entry: a `ResourceType` that plans its name and attributes and creates
it on moto. Types without an entry (IAM roles and policies, subscriptions, ...) have no local counterpart.
"""

from __future__ import annotations

from .base import ACCOUNT, Context, ResourceType
from .cloudformation import WaitCondition, WaitConditionHandle
from .compute import Function, StateMachine
from .messaging import EventBus, Queue, Rule, Topic
from .plan_only import KmsKey, Layer, LogGroup, RestApi
from .storage import Bucket, Secret, Table

RESOURCE_TYPES: dict[str, ResourceType] = {
    # first: a wait condition that exists refuses the stack, before anything else is made
    "AWS::CloudFormation::WaitConditionHandle": WaitConditionHandle(),
    "AWS::CloudFormation::WaitCondition": WaitCondition(),
    "AWS::KMS::Key": KmsKey(),
    "AWS::S3::Bucket": Bucket(),
    "AWS::DynamoDB::Table": Table(),
    "AWS::SNS::Topic": Topic(),
    "AWS::Events::EventBus": EventBus(),
    "AWS::SQS::Queue": Queue(),
    "AWS::Events::Rule": Rule(),
    "AWS::SecretsManager::Secret": Secret(),
    "AWS::Logs::LogGroup": LogGroup(),
    "AWS::Serverless::LayerVersion": Layer(),
    "AWS::Serverless::Api": RestApi(),
    "AWS::Serverless::Function": Function(),
    "AWS::Serverless::StateMachine": StateMachine(),
}

__all__ = ["ACCOUNT", "RESOURCE_TYPES", "Context", "ResourceType"]
