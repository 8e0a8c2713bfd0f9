"""template.yaml as CloudFormation sees it after the AWS::Serverless transform (the SAM translator
`sam validate` uses), offline: local code paths become placeholder S3 URIs, the ASL is inlined."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from samtranslator.translator.arn_generator import ArnGenerator
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from tests.helpers import REPO


class _NoManagedPolicies(ManagedPolicyLoader):
    """The translator only asks IAM for managed policies named without an ARN; this template has none."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        return {}


@cache
def transformed(region: str = "us-east-1") -> dict[str, Any]:
    sam = yaml_parse((REPO / "template.yaml").read_text())
    for name, resource in sam["Resources"].items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://placeholder-bucket/{name}.zip"
        if isinstance(props.get("DefinitionUri"), str):
            props["Definition"] = json.loads((REPO / props.pop("DefinitionUri")).read_text())
    previous = ArnGenerator.BOTO_SESSION_REGION_NAME
    ArnGenerator.BOTO_SESSION_REGION_NAME = region  # the translator derives the partition from it
    try:
        return dict(transform(copy.deepcopy(sam), {}, _NoManagedPolicies()))
    finally:
        ArnGenerator.BOTO_SESSION_REGION_NAME = previous


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def strings(value: Any) -> list[str]:
    """Every string anywhere in `value` (Fn::Sub templates included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []
