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


def test_a_write_whose_answer_was_lost_and_whose_resend_was_cancelled_is_this_exports(
    env: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transaction committed, its answer timed out, and the SDK's resend was cancelled by the
    very record and lease it had written: the export is created, not 409 naming itself."""
    store = env.adapters.store
    real_put = store._put_with_lease

    def committed_then_cancelled(record: ExportRecord, expires: int) -> bool:
        real_put(record, expires)
        return False

    monkeypatch.setattr(store, "_put_with_lease", committed_then_cancelled)
    mine = _record("d" * 32)
    assert store.create_with_lease(mine, _expires()) == mine
    assert store.lease_holder(PROJECT_ID) == "d" * 32


def test_another_export_with_the_same_id_is_not_mistaken_for_this_one(env: Resources) -> None:
    store = env.adapters.store
    store.create_with_lease(replace(_record("e" * 32), created_at="2026-01-01T00:00:00Z"), _expires())
    with pytest.raises(ProjectBusyError):
        store.create_with_lease(_record("e" * 32), _expires())
