"""Request files: a JSON file put under requests/ in the bucket lists export requests (one object or a
list). Each entry is validated; each valid one goes on the request queue as an "Export Requested"
message of its own, named by the export id it will have, and a result file under results/ lists per
entry that id or the reason it was rejected (docs/triggers.md)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from botocore.exceptions import ClientError

from ..adapters import Adapters
from ..clock import iso, utcnow
from ..errors import ExportNotFoundError, RequestValidationError, TransientUpstreamError
from ..observability import logger

REQUESTS_PREFIX = "requests/"
RESULTS_PREFIX = "results/"
MAX_FILE_BYTES = 256 * 1024
MAX_FILE_ENTRIES = 100
EXPORT_REQUESTED = "Export Requested"
ENTRY_SOURCE = "aistudios.export.requests"


def derived_export_id(*parts: object) -> str:
    """The export id a queued request will have: the same for every delivery of the same event."""
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()[:32]


def result_key(key: str) -> str:
    """Where a request file's result goes: under results/, so it can never trigger a request."""
    return RESULTS_PREFIX + key.removeprefix(REQUESTS_PREFIX) + ".result.json"


def take_request_file(adapters: Adapters, event: dict[str, Any]) -> None:
    from ..request import parse_export_request  # pydantic: see intake.py

    detail = event.get("detail") or {}
    bucket = str((detail.get("bucket") or {}).get("name", ""))
    key = str((detail.get("object") or {}).get("key", ""))
    if bucket != adapters.settings.bucket_name or not key.startswith(REQUESTS_PREFIX):
        logger.warning("not a request file of this stack; ignored", extra={"bucket": bucket, "key": key})
        return
    source = f"s3://{bucket}/{key}"
    # The event id alone names one put of the file; the object's version (or etag) as well, for
    # emulations that reuse event ids.
    obj = detail.get("object") or {}
    version = obj.get("version-id") or obj.get("etag") or obj.get("eTag") or ""
    try:
        entries = _read_entries(adapters, bucket, key)
    except InvalidRequestFile as exc:
        logger.warning("invalid request file", extra={"requestFile": source, "reason": exc.message})
        _write_result(adapters, bucket, key, {"requestFile": source, "error": exc.error(), "entries": []})
        return
    except ExportNotFoundError:
        logger.warning("request file gone before it was read", extra={"requestFile": source})
        return
    results: list[dict[str, Any]] = []
    queued: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        try:
            request = parse_export_request(entry)
        except RequestValidationError as exc:
            results.append({"index": index, "status": "REJECTED", "error": validation_error(exc)})
            continue
        export_id = derived_export_id(event.get("id", ""), bucket, key, version, index)
        results.append(
            {"index": index, "status": "QUEUED", "exportId": export_id, "projectId": request.projectId}
        )
        queued.append(
            {
                "detail-type": EXPORT_REQUESTED,
                "source": ENTRY_SOURCE,
                "exportId": export_id,
                "requestFile": f"{source}#{index}",
                "detail": request.model_dump(exclude_none=True),
            }
        )
    _enqueue(adapters, queued)
    _write_result(
        adapters,
        bucket,
        key,
        {
            "requestFile": source,
            "queued": len(queued),
            "rejected": len(results) - len(queued),
            "entries": results,
        },
    )
    logger.info(
        "request file queued", extra={"requestFile": source, "queued": len(queued), "entries": len(results)}
    )


class InvalidRequestFile(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def error(self) -> dict[str, str]:
        error = {"code": "InvalidRequestFile", "message": self.message}
        return error | ({"field": self.field} if self.field else {})


def _read_entries(adapters: Adapters, bucket: str, key: str) -> list[Any]:
    try:
        obj = adapters.s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{MAX_FILE_BYTES}")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise ExportNotFoundError(f"no request file {key}") from None
        raise
    raw = obj["Body"].read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidRequestFile(f"the file is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidRequestFile("the file is not UTF-8 encoded JSON") from None
    entries = payload if isinstance(payload, list) else [payload]
    if not entries:
        raise InvalidRequestFile("the file lists no request")
    if len(entries) > MAX_FILE_ENTRIES:
        raise InvalidRequestFile(
            f"the file lists {len(entries)} requests; at most {MAX_FILE_ENTRIES} per file"
        )
    return entries


def validation_error(exc: RequestValidationError) -> dict[str, str]:
    first = exc.errors[0] if exc.errors else {"field": "", "message": str(exc)}
    return {"code": "ValidationError", "message": str(exc), "field": first["field"]}


def _enqueue(adapters: Adapters, messages: list[dict[str, Any]]) -> None:
    """Every entry on the queue, or an error (the file is then read again: ids are stable)."""
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        response = adapters.sqs.send_message_batch(
            QueueUrl=adapters.settings.request_queue_url,
            Entries=[{"Id": str(i), "MessageBody": json.dumps(m)} for i, m in enumerate(chunk)],
        )
        if response.get("Failed"):
            raise TransientUpstreamError(
                f"{len(response['Failed'])} entries could not be queued", code="QueueRefused"
            )


def _write_result(adapters: Adapters, bucket: str, key: str, result: dict[str, Any]) -> None:
    adapters.s3.put_object(
        Bucket=bucket,
        Key=result_key(key),
        Body=json.dumps({"processedAt": iso(utcnow()), **result}, indent=2).encode(),
        ContentType="application/json",
    )
