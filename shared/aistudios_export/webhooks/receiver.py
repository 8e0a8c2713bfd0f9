"""AI Studios webhooks: a hint that an export may move on sooner, never a source of truth.

The start step gives AI Studios, as the export's `webhookUrl`, a receiver URL on our API that
names the export and carries an unguessable token (only its SHA-256 is stored). A webhook for that
URL is believed only as far as AI Studios' progress API confirms it, taken once per event (a
replay is refused), and only while the export is open (the token expires when the export ends).
A confirmed 100 ends the state machine's interruptible wait, if one is armed, so that the export is
polled at once; the poll still decides, as it always does. Each confirmed event is forwarded,
signed, to the caller's own webhookUrl. The download URL a webhook carries is never used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..adapters import Adapters
from ..aistudios.answers import Progress
from ..clock import now_iso
from ..errors import ExportNotFoundError, TransientUpstreamError
from ..models import EXPORT_ID, ExportRecord
from ..observability import about_export, logger
from .tokens import TOKEN, token_hash

TASK_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_BODY_CHARS = 8 * 1024


@dataclass(frozen=True)
class Answer:
    """What the receiver tells the sender. Refusals say as little as possible."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    moved_on: bool = False
    forwarded: bool | None = None  # None: nothing to forward to


def _refusal(status: int, code: str, message: str) -> Answer:
    """The API's one error shape; the caller already knows the token, so this tells nothing new."""
    return Answer(status, {"error": {"code": code, "message": message}})


NOT_FOUND = Answer(404)
DUPLICATE = _refusal(409, "DuplicateWebhook", "this event was already received")


@dataclass(frozen=True)
class WebhookEvent:
    """AI Studios' webhook body: `{progress, backendTaskId, credit?, download_url?}` (the last ignored)."""

    progress: float
    backend_task_id: str
    credit: float | None = None

    @property
    def key(self) -> str:
        """What makes two deliveries the same event (AI Studios sends no event id)."""
        return f"{self.backend_task_id}:{self.progress:g}"

    @classmethod
    def parse(cls, body: str | None) -> WebhookEvent | None:
        if not body or len(body) > MAX_BODY_CHARS:
            return None
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict):
            return None
        progress, task, credit = data.get("progress"), data.get("backendTaskId", ""), data.get("credit")
        if isinstance(progress, bool) or not isinstance(progress, int | float) or not 0 <= progress <= 100:
            return None
        if not isinstance(task, str) or not (task == "" or TASK_ID.match(task)):
            return None
        if credit is not None and (isinstance(credit, bool) or not isinstance(credit, int | float)):
            credit = None
        return cls(round(float(progress), 2), task, None if credit is None else float(credit))

    def confirmed_by(self, reading: Progress) -> bool:
        """The progress API shows at least what the webhook claims (a 100: done, with a video)."""
        if self.progress >= 100:
            return reading.done
        return reading.done or reading.percent >= self.progress


def receive_webhook(adapters: Adapters, export_id: str, token: str, body: str | None) -> Answer:
    """Check, confirm, take once, move the export on (a confirmed 100) and forward one webhook."""
    record = _open_export(adapters, export_id, token)
    if record is None:
        return NOT_FOUND
    about_export(export_id, record.project_id)  # only once the token proved the export: never a guess
    event = WebhookEvent.parse(body)
    if event is None:
        return _refusal(400, "InvalidWebhook", "not an AI Studios webhook body")
    if event.key in record.webhook_events:
        return DUPLICATE
    try:
        reading = adapters.aistudios.progress(record.project_id)
    except TransientUpstreamError as exc:
        logger.warning("webhook not confirmed: AI Studios unavailable", extra={"reason": exc.message})
        return _refusal(503, "UpstreamUnavailable", "AI Studios could not confirm it; retry")
    if not event.confirmed_by(reading):
        logger.warning(
            "webhook refused: AI Studios does not confirm it",
            extra={"claimed": event.progress, "progress": reading.percent},
        )
        return _refusal(409, "WebhookNotConfirmed", "AI Studios does not confirm it")
    completed = event.progress >= 100
    claimed = adapters.store.claim_webhook_event(export_id, event.key, completed=completed)
    if claimed is None:  # taken meanwhile by a duplicate, or the export ended
        return NOT_FOUND if _open_export(adapters, export_id, token) is None else DUPLICATE
    logger.info("webhook confirmed", extra={"progress": event.progress})
    moved_on = completed and _end_wait(adapters, claimed)
    forwarded = _forward(adapters, claimed, event, reading) if claimed.user_webhook_url else None
    return Answer(202, {"accepted": True}, moved_on=moved_on, forwarded=forwarded)


def _open_export(adapters: Adapters, export_id: str, token: str) -> ExportRecord | None:
    """The export the URL names, if the token is its own and it has not ended."""
    if not (EXPORT_ID.match(export_id) and TOKEN.match(token)):
        return None
    try:
        record = adapters.store.get(export_id)
    except ExportNotFoundError:
        return None
    stored = record.webhook_token_hash or ""
    if not hmac.compare_digest(stored.encode(), token_hash(token).encode()) or record.status.is_final:
        return None
    return record


def _end_wait(adapters: Adapters, record: ExportRecord) -> bool:
    """Complete the state machine's armed wait, if any. The token may be a past round's (that wait
    already ran out): the poll it led to reads the flag this webhook set, so nothing is lost."""
    if not record.wait_token:
        return False
    ended = adapters.executions.end_wait(
        record.wait_token, {"webhookConfirmedAt": record.webhook_confirmed_at}
    )
    if ended:
        logger.info("confirmed completion ended the export's wait")
    return ended


def _forward(adapters: Adapters, record: ExportRecord, event: WebhookEvent, reading: Progress) -> bool:
    """Send the caller what AI Studios confirmed, without the download URL, signed."""
    from .forwarding import forward_event, signing_secret  # requests: only when there is a caller to tell

    assert record.user_webhook_url is not None
    payload: dict[str, Any] = {
        "eventId": hashlib.sha256(f"{record.export_id}:{event.key}".encode()).hexdigest()[:32],
        "exportId": record.export_id,
        "projectId": record.project_id,
        "progress": event.progress,
        "state": reading.state,
        "backendTaskId": event.backend_task_id,
        "confirmedAt": now_iso(),
    }
    if event.credit is not None:
        payload["credit"] = event.credit
    settings = adapters.settings
    try:
        secret = signing_secret(settings)
    except Exception as exc:  # noqa: BLE001 - Secrets Manager's errors come wrapped; none is the export's failure
        logger.warning("webhook not forwarded: no signing secret", extra={"error": type(exc).__name__})
        return False
    return forward_event(
        record.user_webhook_url, payload, secret, local_origin=settings.local_http_origin or None
    )
