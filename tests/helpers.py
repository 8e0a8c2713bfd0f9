"""Helpers shared by every tier: the repository's paths, its sample events, fresh project ids."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/, the same file `sam local invoke -e` uses."""
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data


def new_project_id() -> str:
    return secrets.token_hex(12)


def policy_statements(policies: list[Any]) -> list[dict[str, Any]]:
    """Every statement of a function's or state machine's `Policies`, either branch of a `!If`
    (a statement present under one condition) included, `AWS::NoValue` left out."""
    found: list[dict[str, Any]] = []

    def add(statement: Any) -> None:
        if isinstance(statement, dict) and "Fn::If" in statement:
            for branch in statement["Fn::If"][1:]:
                add(branch)
        elif isinstance(statement, dict) and statement != {"Ref": "AWS::NoValue"}:
            found.append(statement)

    for policy in policies:
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            add(statement)
    return found
