"""The templates `make scan` scans besides template.yaml: template.yaml after its transforms
(docgen/sam_transform.py), once with the default parameters and once with a destination bucket of
one's own, written as JSON for cfn-lint and checkov.

    python -m docgen.scan_templates [--out .local/scan] [--region us-east-1]

The resources SAM generates (a function's role, version, alias and permissions, an API's stage and
deployment, a layer's version) do not carry the Metadata of the SAM resource they come from, so the
checkov skips written on that resource, each with its reason, would not reach them. The translator
knows which resource it generated from which: with `passthrough_metadata` it copies the SAM
resource's Metadata onto each of them (what `sam build` does). Of that copy only `checkov` is kept,
and only on generated resources: a skip applies to exactly what its SAM resource became, nothing else
gets one, and a resource SAM generated with a Metadata of its own is left as it is."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from docgen.sam_transform import transformed
from local.stack.template import REPO

# Each name: the parameter values the template is transformed with (the others keep their defaults).
PARAMETER_SETS: dict[str, dict[str, str]] = {
    "default": {},
    "destination": {
        "DestinationBucketName": "team-media",
        "DestinationKmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "DestinationKeyTemplate": "campaigns/{date}/{name}-{exportId}.mp4",
    },
}


def carry_checkov_skips(sam: dict[str, Any], carried: dict[str, Any]) -> dict[str, Any]:
    """`carried`: the transform of `sam` with `passthrough_metadata`. Each resource that is not one of
    `sam`'s own keeps only the `checkov` part of the Metadata passed through to it."""
    out = dict(carried, Resources={})
    for logical, resource in carried["Resources"].items():
        metadata = resource.get("Metadata")
        if logical not in sam["Resources"] and isinstance(metadata, dict):
            resource = {k: v for k, v in resource.items() if k != "Metadata"}
            if "checkov" in metadata:
                resource["Metadata"] = {"checkov": metadata["checkov"]}
        out["Resources"][logical] = resource
    return out


def check_parameters(parameters: dict[str, str], declared: dict[str, Any]) -> None:
    """A value the template's own constraints refuse would scan a stack that cannot be deployed."""
    for name, value in parameters.items():
        spec = declared[name]  # a KeyError: not a parameter of the template
        pattern = spec.get("AllowedPattern")
        if pattern is not None and re.fullmatch(pattern, value) is None:
            raise ValueError(f"{name}={value!r} does not match the template's AllowedPattern")
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            raise ValueError(f"{name}={value!r} is not one of the template's AllowedValues")
        if len(value) > int(spec.get("MaxLength", len(value))):
            raise ValueError(f"{name}={value!r} is longer than the template's MaxLength")


def scan_template(region: str, parameters: dict[str, str]) -> dict[str, Any]:
    sam = _sam_template()
    check_parameters(parameters, sam.get("Parameters", {}))
    carried = transformed(region, tuple(sorted(parameters.items())), passthrough_metadata=True)
    return carry_checkov_skips(sam, carried)


def _sam_template() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

    return dict(yaml_parse((REPO / "template.yaml").read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", type=Path, default=REPO / ".local" / "scan")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    args = parser.parse_args(argv)
    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # its feature-toggle and metrics notes
    args.out.mkdir(parents=True, exist_ok=True)
    for name, parameters in PARAMETER_SETS.items():
        path = args.out / f"{name}.json"
        path.write_text(json.dumps(scan_template(args.region, parameters), indent=1, sort_keys=True) + "\n")
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
