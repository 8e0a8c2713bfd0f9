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
import re
from dataclasses import dataclass, field
from typing import Any

from .. import strict_json
from ..adapters import Adapters
from ..aistudios.answers import Progress
from ..clock import now_iso
from ..errors import ExportNotFoundError, RequestValidationError, TransientUpstreamError, invalid
from ..models import EXPORT_ID, ExportRecord
from ..observability import about_export, logger
from .tokens import TOKEN, token_hash

TASK_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_BODY_BYTES = 8 * 1024  # AI Studios' webhook is about 100 bytes; API Gateway would pass 10 MB


@dataclass(frozen=True)
class Answer:
    """What the receiver tells the sender. Refusals say as little as possible."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    moved_on: bool = False
    forwarded: bool | None = None  # None: nothing to forward to


def _refusal(status: int, code: str, message: str, **extra: Any) -> Answer:
    """The API's one error shape; the caller already knows the token, so this tells nothing new."""
    return Answer(status, {"error": {"code": code, "message": message, **extra}})


def _invalid(exc: RequestValidationError) -> Answer:
    """400 InvalidWebhook naming the field at fault, as a ValidationError does on the other routes."""
    return _refusal(400, "InvalidWebhook", str(exc), field=exc.errors[0]["field"], details=exc.errors)


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
    def parse(cls, body: bytes | str | None) -> WebhookEvent:
        """The event in `body`, any bytes; RequestValidationError naming the field otherwise. JSON is
        read strictly (no NaN, no 400-digit number: a `credit` is forwarded as it came)."""
        if not body:
            raise invalid("body", "is required (an AI Studios webhook)")
        if len(body) > MAX_BODY_BYTES:  # characters of a str: at least as many bytes
            raise invalid("body", f"must be at most {MAX_BODY_BYTES} bytes")
        data = strict_json.loads(body)
        if not isinstance(data, dict):
            raise invalid("body", "must be a JSON object")
        progress, task, credit = data.get("progress"), data.get("backendTaskId", ""), data.get("credit")
        if progress is None:
            raise invalid("progress", "is required (a number from 0 to 100)")
        if isinstance(progress, bool) or not isinstance(progress, int | float) or not 0 <= progress <= 100:
            raise invalid("progress", "must be a number from 0 to 100")
        if not isinstance(task, str) or not (task == "" or TASK_ID.match(task)):
            raise invalid("backendTaskId", "must be 1 to 128 letters, digits or _.:- characters")
        if isinstance(credit, bool) or not isinstance(credit, int | float):
            credit = None  # not a number: not forwarded, as when AI Studios sends none
        return cls(round(float(progress), 2), task, None if credit is None else float(credit))

    def confirmed_by(self, reading: Progress) -> bool:
        """The progress API shows at least what the webhook claims (a 100: done, with a video)."""
        if self.progress >= 100:
            return reading.done
        return reading.done or reading.percent >= self.progress


def receive_webhook(adapters: Adapters, export_id: str, token: str, body: bytes | str | None) -> Answer:
    """Check, confirm, take once, move the export on (a confirmed 100) and forward one webhook.

    The token is checked before the body is read: whatever the body, a wrong token gets the same 404."""
    record = _open_export(adapters, export_id, token)
    if record is None:
        return NOT_FOUND
    about_export(export_id, record.project_id)  # only once the token proved the export: never a guess
    try:
        event = WebhookEvent.parse(body)
    except RequestValidationError as exc:
        return _invalid(exc)
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
