"""What the roles were used for: every call a function or the state machine made, authorised or
refused, with the statements that decided it. Kept in memory (each distinct call once, counted) and,
when the deployment has a log directory, appended to `iam-calls.jsonl` next to the functions' logs.

`unused_permissions` turns the record around: each action x resource of each Allow statement of a
role's inline policies that no recorded call needed (the "every permission is needed" check)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from .conditions import wildcard
from .policy import resource_matches
from .principals import Principal

LOG_NAME = "iam-calls.jsonl"


@dataclass(frozen=True)
class Call:
    principal: str  # the logical id of the function or state machine whose role made the call
    operation: str
    action: str
    resource: str
    allowed: bool
    statements: tuple[str, ...] = ()  # the statements that allowed it (or the one that denied it)
    note: str = ""
    # a refused call's own condition keys (not the global aws: ones), to see why it was refused
    context: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Unused:
    principal: str
    statement: str
    action: str
    resource: str


class CallRecord:
    def __init__(self, log_dir: Path | None = None) -> None:
        self._counts: Counter[Call] = Counter()
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            self._file = (log_dir / LOG_NAME).open("a", buffering=1)

    def add(self, call: Call) -> None:
        with self._lock:
            self._counts[call] += 1
            if self._file is not None:
                self._file.write(json.dumps({"time": round(time.time(), 3), **asdict(call)}) + "\n")

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._counts)

    def counted(self) -> dict[Call, int]:
        """Each distinct call and how many times it was made."""
        with self._lock:
            return dict(self._counts)

    def count(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def denied(self) -> list[Call]:
        return [c for c in self.calls() if not c.allowed]

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def unused_permissions(principals: Iterable[Principal], calls: Iterable[Call]) -> list[Unused]:
    """Each (action, resource) of each Allow statement of the roles' inline policies that no
    allowed call used (a call counts for the statements it was allowed by)."""
    by_principal: dict[str, list[Call]] = {}
    for call in calls:
        if call.allowed:
            by_principal.setdefault(call.principal, []).append(call)
    unused = []
    for principal in principals:
        made = by_principal.get(principal.logical_id, [])
        for policy in principal.inline:
            for statement in policy.statements:
                if statement.effect != "Allow":
                    continue
                for action in statement.actions or ("NotAction",):
                    for resource in statement.resources or ("NotResource",):
                        if not any(
                            statement.ref in c.statements
                            and (
                                action == "NotAction"
                                or wildcard(action, ignore_case=True).fullmatch(c.action)
                            )
                            and (resource == "NotResource" or resource_matches(resource, c.resource, {}))
                            for c in made
                        ):
                            unused.append(Unused(principal.logical_id, statement.ref, action, resource))
    return unused
