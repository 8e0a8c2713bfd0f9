"""Identity-based policies and their evaluation, as IAM evaluates a role's policies: an explicit
Deny in any statement wins, then any Allow, else the request is implicitly denied. A statement
applies when its Action (or NotAction) names the action, its Resource (or NotResource) the resource,
and its Condition holds; actions match case-insensitively, resources case-sensitively, both with
`*` and `?`. Policy variables (`${aws:PrincipalArn}`, ...) are replaced from the request context."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .conditions import Context, holds, wildcard

_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def _as_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


@dataclass(frozen=True)
class Statement:
    """One statement of one policy; `ref` names it in records and messages (policy name + index)."""

    ref: str
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    condition: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sid: str | None = None

    @classmethod
    def parse(cls, ref: str, raw: Mapping[str, Any]) -> Statement:
        return cls(
            ref=ref,
            effect=str(raw.get("Effect", "Allow")),
            actions=_as_list(raw.get("Action")),
            not_actions=_as_list(raw.get("NotAction")),
            resources=_as_list(raw.get("Resource")),
            not_resources=_as_list(raw.get("NotResource")),
            condition=raw.get("Condition") or {},
            sid=raw.get("Sid"),
        )

    def names_action(self, action: str) -> bool:
        if self.actions:
            return any(wildcard(a, ignore_case=True).fullmatch(action) for a in self.actions)
        return not any(wildcard(a, ignore_case=True).fullmatch(action) for a in self.not_actions)

    def names_resource(self, resource: str, context: Context) -> bool:
        if self.resources:
            return any(resource_matches(p, resource, context) for p in self.resources)
        return not any(resource_matches(p, resource, context) for p in self.not_resources)

    def applies(self, action: str, resource: str, context: Context) -> bool:
        return (
            self.names_action(action)
            and self.names_resource(resource, context)
            and holds(substitute_all(self.condition, context), context)
        )


@dataclass(frozen=True)
class Policy:
    name: str
    statements: tuple[Statement, ...]

    @classmethod
    def parse(cls, name: str, document: Mapping[str, Any]) -> Policy:
        raw = document.get("Statement", [])
        raw = raw if isinstance(raw, list) else [raw]
        return cls(name, tuple(Statement.parse(f"{name}#{i}", s) for i, s in enumerate(raw)))


@dataclass(frozen=True)
class Decision:
    """The verdict on one (action, resource): the statements that allowed it, or why not."""

    allowed: bool
    allowed_by: tuple[str, ...] = ()
    denied_by: str | None = None  # the statement with an explicit Deny, if one matched

    def because(self, action: str) -> str:
        """How AWS's AccessDenied messages end, for this verdict."""
        if self.denied_by:
            return "with an explicit deny in an identity-based policy"
        return f"because no identity-based policy allows the {action} action"


def evaluate(policies: Iterable[Policy], action: str, resource: str, context: Context) -> Decision:
    allowed: list[str] = []
    for policy in policies:
        for statement in policy.statements:
            if not statement.applies(action, resource, context):
                continue
            if statement.effect == "Deny":
                return Decision(False, denied_by=statement.ref)
            allowed.append(statement.ref)
    return Decision(bool(allowed), tuple(allowed))


def resource_matches(pattern: str, resource: str, context: Context) -> bool:
    if "${" in pattern:
        pattern = substitute(pattern, context)
    return wildcard(pattern).fullmatch(resource) is not None


def substitute(text: str, context: Context) -> str:
    """`${key}` from the request context (`${*}`, `${?}`, `${$}` stand for the characters); a key the
    request lacks leaves the text unmatched, as IAM does for a variable it cannot replace."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _ESCAPES:
            return _ESCAPES[name]
        name, _, default = name.partition(", ")
        value = context.get(name)
        if value is None and default:
            value = default.strip("'")
        if value is None or not isinstance(value, str):
            return "\x00unresolved\x00"
        return value

    return _VARIABLE.sub(replace, text)


def substitute_all(condition: Mapping[str, Mapping[str, Any]], context: Context) -> Mapping[str, Any]:
    if "${" not in repr(condition):
        return condition
    return {
        op: {
            key: [substitute(v, context) for v in _as_list(values)]
            if isinstance(values, list)
            else substitute(str(values), context)
            for key, values in keys.items()
        }
        for op, keys in condition.items()
    }


def statements_of(policies: Sequence[Policy]) -> list[Statement]:
    return [s for p in policies for s in p.statements]
