"""An export POST that got no verdict: the export is kept, and its execution asks AI Studios again,
once, if AI Studios then has no export for the project (moto in-process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from aistudios_export import (
    ExportRequest,
    ExportStatus,
    PermanentUpstreamError,
    PollResult,
    Progress,
    TransientUpstreamError,
)
from aistudios_export.clock import parse_iso
from aistudios_export.models import ExportRecord
from aistudios_export.workflow.poll import poll_export
from aistudios_export.workflow.start import start_export
from tests.unit.aws_resources import PROJECT_ID, Resources

pytestmark = pytest.mark.unit
NOT_FOUND = PermanentUpstreamError("project not found", code="PROJECT_NOT_FOUND", status=404)
IDLE = Progress(0.0, "idle")


@pytest.fixture
def env() -> Iterator[Resources]:
    with mock_aws():
        yield Resources()


def _start(env: Resources, error: Exception | None) -> ExportRecord:
    env.aistudios.export_error = error
    record = start_export(env.adapters, ExportRequest(projectId=PROJECT_ID, resolution="720"))
    env.aistudios.exports.clear()
    return record


def _poll(env: Resources, record: ExportRecord) -> PollResult:
    return poll_export(env.adapters, record.export_id, PROJECT_ID, parse_iso(record.created_at))


AMBIGUOUS = TransientUpstreamError("POST answered HTTP 502", code="BadGateway", maybe_processed=True)


def test_a_start_without_a_verdict_is_kept_and_marked(env: Resources) -> None:
    record = _start(env, AMBIGUOUS)
    assert env.adapters.store.get(record.export_id).start_ambiguous
    assert not env.adapters.store.get(_start_other(env).export_id).start_ambiguous


def _start_other(env: Resources) -> ExportRecord:
    env.aistudios.export_error = None
    return start_export(env.adapters, ExportRequest(projectId="0" * 24))


@pytest.mark.parametrize("reading", [NOT_FOUND, IDLE], ids=["not found", "idle at 0"])
def test_no_export_after_an_ambiguous_start_is_asked_for_again_once(
    env: Resources, reading: Progress | Exception
) -> None:
    record = _start(env, AMBIGUOUS)
    env.aistudios.readings = [reading, Progress(5.0, "rendering")]

    first = _poll(env, record)
    assert env.aistudios.exports == [
        {"projectId": PROJECT_ID, "workspace_id": None, "resolution": "720"}
    ]  # the same request, without a webhook (its receiver token is not kept)
    assert not first.failed
    assert env.adapters.store.get(record.export_id).resubmitted_at

    env.aistudios.readings = [reading]
    if isinstance(reading, Exception):
        with pytest.raises(PermanentUpstreamError):  # asked again, still nothing: it ends as before
            _poll(env, record)
    else:
        _poll(env, record)
    assert len(env.aistudios.exports) == 1  # never a second time


@pytest.mark.parametrize("reading", [NOT_FOUND, IDLE], ids=["not found", "idle at 0"])
def test_an_export_ai_studios_acknowledged_is_never_asked_for_again(
    env: Resources, reading: Progress | Exception
) -> None:
    record = _start(env, None)
    env.aistudios.readings = [reading]
    if isinstance(reading, Exception):
        with pytest.raises(PermanentUpstreamError):
            _poll(env, record)
    else:
        _poll(env, record)
    assert env.aistudios.exports == []


def test_a_render_in_progress_is_never_asked_for_again(env: Resources) -> None:
    record = _start(env, AMBIGUOUS)
    env.aistudios.readings = [Progress(0.0, "waiting"), Progress(3.0, "rendering")]
    _poll(env, record)
    _poll(env, record)
    assert env.aistudios.exports == []
    assert env.adapters.store.get(record.export_id).status is ExportStatus.RENDERING


def test_a_post_refused_again_leaves_the_next_poll_to_ask(env: Resources) -> None:
    record = _start(env, AMBIGUOUS)
    env.aistudios.readings = [IDLE]
    env.aistudios.export_error = TransientUpstreamError("HTTP 503", code="ServiceUnavailable")
    _poll(env, record)
    assert env.adapters.store.get(record.export_id).resubmitted_at is None
    _poll(env, record)
    assert len(env.aistudios.exports) == 2  # the refused one and the one that went through
    assert env.adapters.store.get(record.export_id).resubmitted_at


def test_two_polls_at_once_send_it_once(env: Resources) -> None:
    record = _start(env, AMBIGUOUS)
    assert env.adapters.store.claim_resubmission(record.export_id)
    assert not env.adapters.store.claim_resubmission(record.export_id)
