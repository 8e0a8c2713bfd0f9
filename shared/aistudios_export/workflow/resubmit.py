"""An ambiguous start made good. When the export POST got no verdict (500, 502, 504, a timeout or a
reset after the request left: AI Studios may or may not have started a render), the export is kept
and marked (startAmbiguous). If its first polls then show AI Studios has no export for the project
(the progress route answers "not found", or reports the project idle at 0 with no video), the poll
sends the export POST once more, once per export (the record's resubmittedAt claim): never a
second POST while AI Studios shows a render, so never two renders for one export. A POST refused
again (429, 503: not processed) leaves the claim free for a later poll; one that again gets no
verdict keeps it."""

from __future__ import annotations

from ..adapters import Adapters
from ..aistudios.answers import Progress
from ..errors import PermanentUpstreamError, TransientUpstreamError
from ..models import ExportRecord
from ..observability import count_resubmitted, logger

RESUBMIT_BUDGET_SECONDS = 10.0  # the POST's share of the poll's time (its Lambda has 30 s)
IDLE_STATES = frozenset({"", "idle"})


def says_no_export(reading: Progress | PermanentUpstreamError) -> bool:
    """Whether a progress reading (or its refusal) says AI Studios has no export for the project."""
    if isinstance(reading, PermanentUpstreamError):
        code = (reading.code or "").replace("_", "").lower()
        return reading.status == 404 or "notfound" in code
    return reading.percent == 0 and not reading.download_url and reading.state.strip().lower() in IDLE_STATES


def resubmit_if_lost(adapters: Adapters, record: ExportRecord) -> bool:
    """Send the export POST again if this export's start was ambiguous and it has not been sent
    again yet; True when this call sent it and AI Studios took it (or may have)."""
    if not record.start_ambiguous or record.resubmitted_at or record.status.is_final:
        return False
    if not adapters.store.claim_resubmission(record.export_id):
        return False
    try:
        adapters.aistudios.export(
            record.project_id,
            workspace_id=record.workspace_id,
            resolution=record.resolution,
            budget_seconds=RESUBMIT_BUDGET_SECONDS,
        )
    except TransientUpstreamError as exc:
        if not exc.maybe_processed:
            adapters.store.release_resubmission(record.export_id)
            logger.warning("AI Studios refused the export again; a later poll asks once more",
                           extra={"reason": exc.message})  # fmt: skip
            return False
        logger.warning("the export asked again got no verdict either", extra={"reason": exc.message})
    count_resubmitted()
    logger.warning("AI Studios had no export for the project after an ambiguous start: asked again")
    return True
