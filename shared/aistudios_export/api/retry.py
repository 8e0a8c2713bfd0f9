"""POST /exports/{exportId}/retry: its declaration (as routes.py declares the others) and its
submission, idempotent like POST /exports (the retry itself is workflow/retry.py)."""

from __future__ import annotations

import functools
from typing import Any

from ..adapters import Adapters
from ..workflow.retry import retry_export
from .routes import _NOT_FOUND, TAGS, VALIDATED, _errors, _json
from .submission import _answer_by, once

RETRY_EXPORT: dict[str, Any] = {
    **VALIDATED,
    "operation_id": "retryExport",
    "summary": "Retry an export that ended without its video",
    "description": "Starts a new export of the same request (project, workspace, resolution, webhookUrl, "
    "name, metadata) as a FAILED, TIMED_OUT or CANCELLED export, whichever way that one was requested: "
    "the new export's `retryOf` names it, and its `retriedBy` names the new one.",
    "tags": TAGS,
    "responses": {
        202: _json(
            "ExportAccepted",
            "The new export is recorded, its workflow started and AI Studios asked to render it",
            Location="the new export's link",
        ),
        **_errors(
            {
                400: "`ValidationError`: the Idempotency-Key is invalid",
                404: f"{_NOT_FOUND}; or AI Studios no longer knows the project (its code and message)",
                409: "`ExportNotEnded`: the export is still going; `ExportSucceeded`: it has its video; "
                "`ExportAlreadyRetried`: retry its retry instead; `ExportNotRetryable`: its stored "
                "request no longer passes validation (`field` names what), start a new export; "
                "`ProjectBusy`: the project has an "
                "export in progress (`activeExportId`, `links.active`); `RequestInProgress`: the first "
                "request with this Idempotency-Key is still being processed (`Retry-After`)",
                422: "AI Studios refused the export (its code and message), or `IdempotencyKeyReused`: "
                "the key came with another request",
                502: "`UpstreamAuthenticationFailed`: the stack's AI Studios credentials are missing or "
                "rejected (an operator's job)",
                503: "AI Studios or AWS is unavailable and nothing was started: retry after `Retry-After`",
            }
        ),
    },
}


def submit_retry(
    adapters: Adapters,
    export_id: str,
    *,
    caller: str = "anonymous",
    idempotency_key: str | None = None,
    lambda_context: Any = None,
    webhook_receiver: str | None = None,
    received_at: float | None = None,
) -> dict[str, str]:
    """Retry export `export_id`; returns {"exportId", "status", "retryOf"}. With an Idempotency-Key,
    the same caller retrying the same export with the same key within 24 h gets the first answer."""
    answer_by = _answer_by(adapters, lambda_context, received_at)
    if answer_by is not None:  # a refused retry gives its claim back: two AWS calls more than a POST's
        answer_by -= 2 * adapters.settings.aws_call_worst_seconds()
    start = functools.partial(_retry, adapters, export_id, answer_by, webhook_receiver)
    submission = {"caller": caller, "key": idempotency_key, "request": {"retryOf": export_id}}
    return once(adapters, start, submission, lambda_context)


def _retry(
    adapters: Adapters, export_id: str, answer_by: float | None, webhook_receiver: str | None
) -> dict[str, str]:
    record = retry_export(adapters, export_id, answer_by=answer_by, webhook_receiver=webhook_receiver)
    return {"exportId": record.export_id, "status": record.status.value, "retryOf": export_id}
