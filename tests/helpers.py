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
