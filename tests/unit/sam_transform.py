"""Helpers for tests that read template.yaml as CloudFormation sees it after its transforms
(`transformed`, docgen/sam_transform.py)."""

from __future__ import annotations

from typing import Any

from docgen.sam_transform import transformed

__all__ = ["resources_of_type", "strings", "transformed"]


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
