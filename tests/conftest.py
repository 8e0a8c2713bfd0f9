"""Fixtures shared by every tier (helpers live in tests/helpers.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from local.stack.moto_patches import s3_patches
from tests.helpers import new_project_id

# Before the layer is imported by any test module: Powertools Metrics reads its namespace when created.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AIStudiosExportTests")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "aistudios-export")
# Every test's moto S3 is the local stack's (it verifies checksums and lists them, as S3 does), in
# whatever order the tests run: the patches are process-wide, and an in-process local deployment
# applies them anyway.
s3_patches()


@pytest.fixture
def project_id() -> str:
    return new_project_id()


@pytest.fixture
def simulator() -> Iterator[Any]:
    """An AI Studios simulator on a free loopback port with a short render, stopped after the test."""
    from local.simulator import Simulator, SimulatorConfig

    with Simulator(SimulatorConfig(render_seconds=1.5)) as sim:
        yield sim
