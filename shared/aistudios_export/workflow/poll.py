"""Polling an export: read the project's progress, record it, decide whether the video is this
export's and ready (aistudios/renders.py), and plan the next wait (waiting.py, armed for webhooks
by arming.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..adapters import Adapters
from ..aistudios.renders import this_render
from ..aws.errors import transient_aws_errors
from ..clock import iso, iso_seconds, parse_iso, utcnow
from ..errors import (
    ExportNotFoundError,
    InvalidTransitionError,
    PermanentUpstreamError,
    TransientUpstreamError,
)
from ..models import ExportStatus, PollResult
from ..observability import logger
from ..waiting import Sample, keep_samples, next_wait
from .arming import outage_wait, webhook_wait
from .resubmit import resubmit_if_lost, says_no_export


@transient_aws_errors
def poll_export(
    adapters: Adapters,
    export_id: str,
    project_id: str,
    requested_at: datetime | None,
    *,
    deadline: datetime | None = None,
    samples: Sequence[Sample] = (),
) -> PollResult:
    """Read the project's progress, record it, and plan the next wait.

    An AI Studios outage is not the export's failure: the poll answers "not yet" and waits the
    longest wait; only the deadline ends an export that cannot be polled.
    """
    now = utcnow()
    try:
        progress = adapters.aistudios.progress(project_id)
    except TransientUpstreamError as exc:
        return _unavailable(adapters, export_id, exc, samples, now)
    except PermanentUpstreamError as exc:
        return _refused(adapters, export_id, exc, samples, now)
    try:
        created_at = iso(requested_at) if requested_at else None  # the record this execution started with
        record = adapters.store.record_progress(
            export_id, progress.percent, progress.state, created_at=created_at
        )
    except ExportNotFoundError:
        logger.info("export withdrawn before it started; ending")
        return PollResult(0.0, "", False, False, "withdrawn", 0, iso_seconds(now), abandoned=True)
    except InvalidTransitionError as exc:
        logger.warning("progress not recorded", extra={"reason": exc.message})
        record = adapters.store.get(export_id)
    if not samples and record.status is ExportStatus.RENDERING:
        adapters.lifecycle.changed(record)  # this execution's first reading: REQUESTED -> RENDERING
    if says_no_export(progress):
        resubmit_if_lost(adapters, record)
    elapsed = (now - (requested_at or parse_iso(record.created_at))).total_seconds()
    ready = this_render(adapters, record, progress, requested_at or parse_iso(record.created_at))
    kept = keep_samples([*samples, (elapsed, progress.percent)])
    s = adapters.settings
    seconds_left = (deadline - now).total_seconds() if deadline else s.export_deadline_seconds - elapsed
    wait = next_wait(
        kept, min_wait=s.poll_min_wait_seconds, max_wait=s.poll_max_wait_seconds, seconds_left=seconds_left
    )
    wait, arm = webhook_wait(
        record, wait, min_wait=s.poll_min_wait_seconds, settled=ready or progress.failed, read_at=now,
        samples=kept, max_wait=s.poll_max_wait_seconds, seconds_left=seconds_left,
    )  # fmt: skip
    logger.info("export progress", extra={"progress": progress.percent, "state": progress.state})
    return PollResult(
        percent=progress.percent,
        state=progress.state,
        download_ready=ready,
        failed=progress.failed,
        detail=f"AI Studios reports state '{progress.state}' at {progress.percent:g}%",
        next_wait_seconds=wait,
        checked_at=iso_seconds(now),
        samples=tuple(kept),
        arm_webhook=arm,
    )


def _refused(
    adapters: Adapters, export_id: str, exc: PermanentUpstreamError, samples: Sequence[Sample], now: datetime
) -> PollResult:
    """The progress route refused: "no export for the project" after an ambiguous start is asked
    again (resubmit.py), and polled on; anything else ends the export (the error propagates)."""
    if not (says_no_export(exc) and resubmit_if_lost(adapters, adapters.store.get(export_id))):
        raise exc
    wait = int(adapters.settings.poll_min_wait_seconds)
    return PollResult(0.0, "resubmitted", False, False, "asked AI Studios again", wait,
                      iso_seconds(now), samples=tuple(samples))  # fmt: skip


def _unavailable(
    adapters: Adapters,
    export_id: str,
    exc: TransientUpstreamError,
    samples: Sequence[Sample],
    now: datetime,
) -> PollResult:
    """AI Studios could not be read: "not yet", and the longest wait."""
    logger.warning("AI Studios unavailable; waiting", extra={"reason": exc.message})
    wait, arm = outage_wait(adapters, export_id, int(adapters.settings.poll_max_wait_seconds), read_at=now)
    return PollResult(
        0.0, "unavailable", False, False, f"AI Studios unavailable: {exc.message}",
        wait, iso_seconds(now), samples=tuple(samples), arm_webhook=arm,
    )  # fmt: skip
