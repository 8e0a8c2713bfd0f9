"""Fixtures shared by every tier."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/, the same file `sam local invoke -e` uses."""
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data


def new_project_id() -> str:
    return secrets.token_hex(12)


@pytest.fixture
def project_id() -> str:
    return new_project_id()


@pytest.fixture
def simulator() -> Iterator[Any]:
    """An AI Studios simulator on a free loopback port with a short render, stopped after the test."""
    from local.simulator import Simulator, SimulatorConfig

    with Simulator(SimulatorConfig(render_seconds=1.5)) as sim:
        yield sim
