"""What the store's conditions share: `#status IN (...)` over a set of statuses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def status_in(statuses: Iterable[str], values: dict[str, Any]) -> str:
    """`#status IN (...)` for a condition, its values added to `values` (`#status` names "status")."""
    names = []
    for i, status in enumerate(statuses):
        values[f":s{i}"] = status
        names.append(f":s{i}")
    return f"#status IN ({', '.join(names)})"
