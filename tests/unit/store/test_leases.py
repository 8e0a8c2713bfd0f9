"""The project's lease: taken with the record, both or neither; a lease freed meanwhile is taken."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from moto import mock_aws

from aistudios_export import ExportStatus
from aistudios_export.errors import ProjectBusyError, TransientUpstreamError
from aistudios_export.models import ExportRecord
from aistudios_export.store.leases import LEASE_ATTEMPTS
from tests.unit.aws_resources import PROJECT_ID, Resources

pytestmark = pytest.mark.unit


@pytest.fixture
def env() -> Iterator[Resources]:
    with mock_aws():
        yield Resources()


def _record(export_id: str) -> ExportRecord:
    return ExportRecord(
        export_id=export_id,
        project_id=PROJECT_ID,
        resolution="1080",
        status=ExportStatus.REQUESTED,
        deadline_at="2026-11-27T21:20:00Z",
    )


def _expires() -> int:
    return int(time.time()) + 3600


def test_a_busy_project_names_the_export_holding_it(env: Resources) -> None:
    store = env.adapters.store
    store.create_with_lease(_record("a" * 32), _expires())
    with pytest.raises(ProjectBusyError) as raised:
        store.create_with_lease(_record("b" * 32), _expires())
    assert "a" * 32 in str(raised.value)


def test_a_lease_released_between_the_write_and_the_look_is_taken_on_the_next_attempt(
    env: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first transaction meets the holder's lease; it is released before the look at it. The
    project is free: the export is created (it was answered 503 ProjectLeaseContended)."""
    store = env.adapters.store
    store.create_with_lease(_record("a" * 32), _expires())
    real_holder = store.lease_holder

    def released_just_now(project_id: str) -> Any:
        store.release_lease(project_id, "a" * 32)
        return real_holder(project_id)

    monkeypatch.setattr(store, "lease_holder", released_just_now)
    created = store.create_with_lease(_record("b" * 32), _expires())
    assert created.export_id == "b" * 32
    monkeypatch.undo()
    assert store.lease_holder(PROJECT_ID) == "b" * 32
    assert store.get("b" * 32).status is ExportStatus.REQUESTED


def test_a_lease_that_keeps_changing_hands_is_a_retryable_answer(
    env: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every attempt cancelled and every look finding no holder: 503 with Retry-After, no record."""
    store = env.adapters.store
    attempts: list[str] = []
    monkeypatch.setattr(store, "_put_with_lease", lambda record, expires: attempts.append("put") or False)
    monkeypatch.setattr(store, "lease_holder", lambda project_id: None)
    with pytest.raises(TransientUpstreamError) as raised:
        store.create_with_lease(replace(_record("c" * 32)), _expires())
    assert raised.value.code == "ProjectLeaseContended"
    assert len(attempts) == LEASE_ATTEMPTS
