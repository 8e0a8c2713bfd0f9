"""template.yaml as CloudFormation sees it after its transforms (AWS::LanguageExtensions' one
function the template uses, then the SAM translator `sam validate` uses), offline: local code paths
become placeholder S3 URIs, the ASL is inlined. The unit tests read it, and `make scan` scans it
(docgen/scan_templates.py)."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import boto3
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.arn_generator import ArnGenerator  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]
from samtranslator.utils.py27hash_fix import (  # type: ignore[import-untyped]
    to_py27_compatible_template,
    undo_mark_unicode_str_in_template,
)
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

from local.stack.template import REPO


@cache
def transformed(
    region: str = "us-east-1",
    parameters: tuple[tuple[str, str], ...] = (),
    builds: tuple[tuple[str, str], ...] = (),
    passthrough_metadata: bool = False,
) -> dict[str, Any]:
    """`parameters`: the deploy's parameter values; `builds`: a resource's code as `sam deploy`
    uploads it (its S3 URI, named by the build's hash), for the ones that differ from the default.
    `passthrough_metadata`: every resource SAM generates from a SAM resource gets that resource's
    Metadata, as `sam build` does (CloudFormation's transform does not; only the scanners want it)."""
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
    sam, values = copy.deepcopy(sam), dict(parameters)
    to_py27_compatible_template(sam, values)  # as samtranslator's transform(): the same logical ids
    previous = ArnGenerator.BOTO_SESSION_REGION_NAME
    ArnGenerator.BOTO_SESSION_REGION_NAME = region  # the translator derives the partition from it
    try:
        # The translator asks for the managed-policy map only for policies named without an ARN
        # (it would ask IAM); this template has none, so the map is empty and nothing leaves the machine.
        translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
        output = translator.translate(
            sam,
            parameter_values=values,
            get_managed_policy_map=dict,
            passthrough_metadata=passthrough_metadata,
        )
        return dict(undo_mark_unicode_str_in_template(output))
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
