"""template.yaml as CloudFormation sees it after its transforms (AWS::LanguageExtensions' one
function the template uses, then the SAM translator `sam validate` uses), offline: local code paths
become placeholder S3 URIs, the ASL is inlined."""

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
def transformed(
    region: str = "us-east-1",
    parameters: tuple[tuple[str, str], ...] = (),
    builds: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """`parameters`: the deploy's parameter values; `builds`: a resource's code as `sam deploy`
    uploads it (its S3 URI, named by the build's hash), for the ones that differ from the default."""
    sam = yaml_parse((REPO / "template.yaml").read_text())
    uploaded = dict(builds)
    for name, resource in sam["Resources"].items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = uploaded.get(name, f"s3://placeholder-bucket/{name}.zip")
        if isinstance(props.get("DefinitionUri"), str):
            props["Definition"] = json.loads((REPO / props.pop("DefinitionUri")).read_text())
    values = {name: str(spec.get("Default", "")) for name, spec in sam.get("Parameters", {}).items()}
    sam = _language_extensions(sam, values | dict(parameters))
    previous = ArnGenerator.BOTO_SESSION_REGION_NAME
    ArnGenerator.BOTO_SESSION_REGION_NAME = region  # the translator derives the partition from it
    try:
        return dict(transform(copy.deepcopy(sam), dict(parameters), _NoManagedPolicies()))
    finally:
        ArnGenerator.BOTO_SESSION_REGION_NAME = previous


def _language_extensions(value: Any, parameters: dict[str, str]) -> Any:
    """What AWS::LanguageExtensions does before SAM sees the template, for the one function of it
    the template uses: Fn::ToJsonString of parameter values becomes their JSON, a plain string."""
    if isinstance(value, list):
        return [_language_extensions(v, parameters) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::ToJsonString"}:
        return json.dumps(_parameter_values(value["Fn::ToJsonString"], parameters), separators=(",", ":"))
    return {k: _language_extensions(v, parameters) for k, v in value.items()}


def _parameter_values(value: Any, parameters: dict[str, str]) -> Any:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return parameters[value["Ref"]]  # a KeyError: not a parameter, unresolvable at transform time
    if isinstance(value, dict):
        return {k: _parameter_values(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [_parameter_values(v, parameters) for v in value]
    return value


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
