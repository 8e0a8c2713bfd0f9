"""Reads template.yaml, the single source of the wiring, and resolves the intrinsics it uses."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"

_SHORT_TAGS = {
    "!Ref": "Ref",
    "!GetAtt": "Fn::GetAtt",
    "!Sub": "Fn::Sub",
    "!If": "Fn::If",
    "!Equals": "Fn::Equals",
    "!Not": "Fn::Not",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!Contains": "Fn::Contains",
    "!Join": "Fn::Join",
    "!Select": "Fn::Select",
    "!Split": "Fn::Split",
    "!Condition": "Condition",
}


class _Loader(yaml.SafeLoader):
    pass


def _construct(tag: str) -> Callable[[yaml.SafeLoader, yaml.Node], Any]:
    key = _SHORT_TAGS[tag]

    def build(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if key == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return build


for _tag in _SHORT_TAGS:
    _Loader.add_constructor(_tag, _construct(_tag))


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as handle:
        data: dict[str, Any] = yaml.load(handle, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return data


NO_VALUE: Any = object()  # what Ref AWS::NoValue resolves to


@dataclass
class Physical:
    """What a resource resolves to: `ref` for Ref, `attrs` for GetAtt, and `refs` for SAM's
    `Ref X.Version` / `Ref X.Alias` (the version and alias AutoPublishAlias generates)."""

    ref: str
    attrs: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)


class Resolver:
    """Resolves Ref, GetAtt, Sub, If, Equals, Not, And, Or, Join, Select, Split and
    AWS::LanguageExtensions' ToJsonString against local values."""

    def __init__(
        self,
        template: dict[str, Any],
        parameters: dict[str, str],
        pseudo: dict[str, str],
    ) -> None:
        self.template = template
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
        }
        self.parameters.update(parameters)
        self.pseudo = pseudo
        self.physical: dict[str, Physical] = {}  # filled by the provisioner's plan

    def check_rules(self) -> None:
        """Check the parameters and evaluate the template's Rules, as CloudFormation does before a deploy."""
        for name, spec in self.template.get("Parameters", {}).items():
            value = self.parameters[name]
            allowed = [str(v) for v in spec.get("AllowedValues", [])]
            if allowed and value not in allowed:
                raise ValueError(f"parameter {name}={value!r} is not one of {', '.join(allowed)}")
            if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
                raise ValueError(f"parameter {name}={value!r} does not match {spec['AllowedPattern']}")
            if spec.get("Type") == "Number" and not (
                float(spec.get("MinValue", "-inf")) <= float(value) <= float(spec.get("MaxValue", "inf"))
            ):
                raise ValueError(f"parameter {name}={value!r} is out of range")
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.resolve(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions", []):
                if not self.resolve(assertion["Assert"]):
                    raise ValueError(f"template rule {name}: {assertion.get('AssertDescription', 'failed')}")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def resource_enabled(self, logical_id: str) -> bool:
        condition = self.template["Resources"][logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name].ref
        logical, _, generated = name.partition(".")
        if logical in self.physical and generated in self.physical[logical].refs:
            return self.physical[logical].refs[generated]
        raise KeyError(f"template refers to {name}, which the local stack does not provide")

    def resolve(self, value: Any) -> Any:
        """The value with its intrinsics applied; what resolves to AWS::NoValue is left out of the
        list or mapping holding it, as CloudFormation does (at the top: NO_VALUE)."""
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and arg == "AWS::NoValue":
                return NO_VALUE
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.physical[logical].attrs[attr]
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                a, b = (self.resolve(v) for v in arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in arg)
            if key == "Fn::Contains":
                items, item = arg
                return str(self.resolve(item)) in [str(i) for i in self.resolve(items)]
            if key == "Fn::Or":
                return any(self.resolve(v) for v in arg)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(self.resolve(i)) for i in items)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key == "Fn::ToJsonString":
                return json.dumps(self.resolve(arg), separators=(",", ":"))
            if key == "Condition":
                return self.condition(arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name and name.split(".", 1)[0] in self.physical:
                logical, attr = name.split(".", 1)
                return self.physical[logical].attrs[attr]
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == kind}


def function_globals(template: dict[str, Any]) -> dict[str, Any]:
    globals_: dict[str, Any] = template.get("Globals", {}).get("Function", {})
    return globals_


def api_routes(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, path, function logical id) for every Api event in the template."""
    routes = []
    for logical, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") == "Api":
                props = event["Properties"]
                routes.append((props["Method"].upper(), props["Path"], logical))
    return routes


def gateway_responses(template: dict[str, Any], api: str = "ExportsApi") -> dict[str, Any]:
    """The API's GatewayResponses: how API Gateway shapes the answers it gives itself."""
    responses: dict[str, Any] = template["Resources"][api]["Properties"].get("GatewayResponses", {})
    return responses
