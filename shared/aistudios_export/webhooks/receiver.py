"""AI Studios webhooks: a hint that an export may move on sooner, never a source of truth.

The start step gives AI Studios, as the export's `webhookUrl`, a receiver URL on our API that
names the export and carries an unguessable token (only its SHA-256 is stored). Whoever holds that
URL (AI Studios, or anyone who read it in a leaked log line) can do no more than AI Studios would:
a webhook is taken only at a level AI Studios posts at (25, 50, 75, 100), each level once per
export, only while the export is open (the token expires when the export ends), and only as far as
the progress API confirms it; a replay or an export that took its fill is refused before AI
Studios is asked. A confirmed 100 ends the state machine's interruptible wait, if one is armed, so
that the export is polled at once; the poll still decides, as it always does. Each confirmed event
is forwarded, signed, to the caller's own webhookUrl, with only what the progress API said: the
body's `backendTaskId`, `credit` and `download_url` are never believed, kept or forwarded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .. import strict_json
from ..adapters import Adapters
from ..aistudios.answers import Progress
from ..aistudios.renders import this_render
from ..clock import now_iso, parse_iso
from ..errors import ExportNotFoundError, RequestValidationError, TransientUpstreamError, invalid
from ..models import EXPORT_ID, ExportRecord
from ..observability import about_export, logger
from ..store.exports import webhook_event_room
from .tokens import TOKEN, token_hash

TASK_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_BODY_BYTES = 8 * 1024  # AI Studios' webhook is about 100 bytes; API Gateway would pass 10 MB
LEVELS = (25.0, 50.0, 75.0, 100.0)  # the progress levels AI Studios posts a webhook at
MAX_REFUSALS = 16  # webhooks of one export AI Studios may be asked about and not confirm; then no more


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
FULL = _refusal(409, "DuplicateWebhook", "this export takes no more webhooks")
NOT_CONFIRMED = _refusal(409, "WebhookNotConfirmed", "AI Studios does not confirm it")
TOO_MANY = _refusal(409, "TooManyRefused", "this export refused too many webhooks; it takes no more")


@dataclass(frozen=True)
class WebhookEvent:
    """AI Studios' webhook body: `{progress, backendTaskId, credit?, download_url?}`. Only the
    progress level is used; the rest is checked for shape (a malformed body is a 400) and dropped."""

    progress: float
    backend_task_id: str = ""

    @property
    def key(self) -> str:
        """What makes two deliveries the same event: the level (AI Studios sends no event id, and a
        `backendTaskId` is the sender's word, so it does not make a level new)."""
        return f"{self.progress:g}"

    @property
    def completed(self) -> bool:
        return self.progress >= 100

    @classmethod
    def parse(cls, body: bytes | str | None) -> WebhookEvent:
        """The event in `body`, any bytes; RequestValidationError naming the field otherwise. JSON is
        read strictly (no NaN, no 400-digit number, wherever it is)."""
        if not body:
            raise invalid("body", "is required (an AI Studios webhook)")
        if len(body) > MAX_BODY_BYTES:  # characters of a str: at least as many bytes
            raise invalid("body", f"must be at most {MAX_BODY_BYTES} bytes")
        data = strict_json.loads(body)
        if not isinstance(data, dict):
            raise invalid("body", "must be a JSON object")
        progress, task = data.get("progress"), data.get("backendTaskId", "")
        if progress is None:
            raise invalid("progress", "is required (a number from 0 to 100)")
        if isinstance(progress, bool) or not isinstance(progress, int | float) or not 0 <= progress <= 100:
            raise invalid("progress", "must be a number from 0 to 100")
        if float(progress) not in LEVELS:
            raise invalid("progress", "must be 25, 50, 75 or 100 (the levels AI Studios posts at)")
        if not isinstance(task, str) or not (task == "" or TASK_ID.match(task)):
            raise invalid("backendTaskId", "must be 1 to 128 letters, digits or _.:- characters")
        return cls(float(progress), task)


def confirms(adapters: Adapters, record: ExportRecord, event: WebhookEvent, reading: Progress) -> bool:
    """Whether the progress API's `reading` confirms `event`: this export's render has reached the
    event's level. A reading of 100 counts only with a download URL and only when the stale-100 rule
    (aistudios/renders.py), without a webhook's word, takes it for this export's render, as the poll
    would: otherwise it may be the previous render's, and a forged 100 must not make it this one's.
    Below 100, the reading must be at or past the level (a late 25 is still AI Studios' 25)."""
    if reading.percent >= 100:
        requested = parse_iso(record.created_at)
        return this_render(adapters, record, reading, requested, webhook_counts=False)
    return not event.completed and reading.percent >= event.progress


def receive_webhook(adapters: Adapters, export_id: str, token: str, body: bytes | str | None) -> Answer:
    """Check, confirm, take once, move the export on (a confirmed 100) and forward one webhook.

    The token is checked before the body is read: whatever the body, a wrong token gets the same 404.
    A replay, or an export that holds all the events it may, is refused before AI Studios is asked.
    Forwarding gets what is left of its budget counted from here, so the whole answer is bounded."""
    started = time.monotonic()
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
    if len(record.webhook_events) >= webhook_event_room(completed=event.completed):
        return FULL
    if record.webhook_refusals >= MAX_REFUSALS:  # whoever holds the URL cannot make AI Studios answer
        return TOO_MANY
    try:
        reading = adapters.aistudios.progress(record.project_id)
    except TransientUpstreamError as exc:
        logger.warning("webhook not confirmed: AI Studios unavailable", extra={"reason": exc.message})
        return _refusal(503, "UpstreamUnavailable", "AI Studios could not confirm it; retry")
    if not confirms(adapters, record, event, reading):
        logger.warning(
            "webhook refused: AI Studios does not confirm it",
            extra={"claimed": event.progress, "progress": reading.percent},
        )
        adapters.store.note_webhook_refused(export_id)
        return NOT_CONFIRMED
    claimed = adapters.store.claim_webhook_event(export_id, event.key, completed=event.completed)
    if claimed is None:  # taken meanwhile by a duplicate, or the export ended
        return NOT_FOUND if _open_export(adapters, export_id, token) is None else DUPLICATE
    logger.info("webhook confirmed", extra={"progress": event.progress})
    moved_on = event.completed and _end_wait(adapters, claimed)
    forwarded = _forward(adapters, claimed, event, reading, started) if claimed.user_webhook_url else None
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


def _forward(
    adapters: Adapters, record: ExportRecord, event: WebhookEvent, reading: Progress, started: float
) -> bool:
    """Send the caller what AI Studios confirmed, signed: the level reached and the progress API's
    state; nothing the webhook's body alone says (its backendTaskId, credit or download URL).
    Within what is left of BUDGET_SECONDS since the webhook arrived (`started`, monotonic)."""
    from .forwarding import BUDGET_SECONDS, forward_event, signing_secret  # only with a caller to tell

    assert record.user_webhook_url is not None
    payload: dict[str, Any] = {
        "eventId": hashlib.sha256(f"{record.export_id}:{event.key}".encode()).hexdigest()[:32],
        "exportId": record.export_id,
        "projectId": record.project_id,
        "progress": event.progress,
        "state": reading.state,
        "confirmedAt": now_iso(),
    }
    settings = adapters.settings
    try:
        secret = signing_secret(settings)
    except Exception as exc:  # noqa: BLE001 - Secrets Manager's errors come wrapped; none is the export's failure
        logger.warning("webhook not forwarded: no signing secret", extra={"error": type(exc).__name__})
        return False
    return forward_event(
        record.user_webhook_url,
        payload,
        secret,
        local_origin=settings.local_http_origin or None,
        budget_seconds=max(0.0, BUDGET_SECONDS - (time.monotonic() - started)),
    )
