"""Request files: a JSON file put under requests/ in the bucket lists export requests (one object or a
list). Each entry is validated; each valid one goes on the request queue as an "Export Requested"
message of its own, named by the export id it will have, and a result file under results/ lists per
entry that id or the reason it was rejected (docs/triggers.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .. import strict_json
from ..adapters import Adapters
from ..aws.request_bucket import MAX_FILE_BYTES, REQUESTS_PREFIX, RequestFileGone, RequestFiles
from ..errors import RequestValidationError
from ..observability import logger

MAX_FILE_ENTRIES = 100
MAX_MESSAGE_CHARS = 1024
MAX_FIELD_CHARS = 256
EXPORT_REQUESTED = "Export Requested"
ENTRY_SOURCE = "aistudios.export.requests"


class InvalidRequestFile(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def error(self) -> dict[str, str]:
        error = {"code": "InvalidRequestFile", "message": _bounded(self.message, MAX_MESSAGE_CHARS)}
        return error | ({"field": _bounded(self.field, MAX_FIELD_CHARS)} if self.field else {})


def derived_export_id(*parts: object) -> str:
    """The export id a queued request will have: the same for every delivery of the same event."""
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class PutFile:
    """One put of a request file, as its S3 "Object Created" event names it."""

    event_id: str
    bucket: str
    key: str
    version: str  # the event id alone names one put; the version (or etag) too, for emulations that reuse ids

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> PutFile:
        detail = _object(event.get("detail"))
        obj = _object(detail.get("object"))
        version = obj.get("version-id") or obj.get("etag") or obj.get("eTag") or ""
        bucket = str(_object(detail.get("bucket")).get("name", ""))
        return cls(str(event.get("id", "")), bucket, str(obj.get("key", "")), str(version))

    @property
    def source(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def take_request_file(adapters: Adapters, event: dict[str, Any]) -> None:
    """Queue every valid entry of a request file that was put, and write its result file."""
    put = PutFile.from_event(event)
    files = adapters.request_files
    if put.bucket != files.bucket or not put.key.startswith(REQUESTS_PREFIX):
        logger.warning(
            "not a request file of this stack; ignored", extra={"bucket": put.bucket, "key": put.key}
        )
        return
    if put.key.endswith("/"):  # the empty object a console's "Create folder" puts: not a file
        logger.info("folder object under requests/; ignored", extra={"requestFile": put.source})
        return
    try:
        entries = _read_entries(files, put.key)
    except InvalidRequestFile as exc:
        logger.warning("invalid request file", extra={"requestFile": put.source, "reason": exc.message})
        files.write_result(put.key, {"requestFile": put.source, "error": exc.error(), "entries": []})
        return
    except RequestFileGone:
        logger.warning("request file gone before it was read", extra={"requestFile": put.source})
        return
    results, queued = _sort_entries(put, entries)
    adapters.queue.send(queued)
    files.write_result(
        put.key,
        {
            "requestFile": put.source,
            "queued": len(queued),
            "rejected": len(results) - len(queued),
            "entries": results,
        },
    )
    logger.info(
        "request file queued",
        extra={"requestFile": put.source, "queued": len(queued), "entries": len(results)},
    )


def _sort_entries(put: PutFile, entries: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each entry's line in the result file, and the queue message of each valid one."""
    from ..request import parse_export_request  # pydantic: see consumer.py

    results: list[dict[str, Any]] = []
    queued: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        try:
            request = parse_export_request(entry)
        except RequestValidationError as exc:
            results.append({"index": index, "status": "REJECTED", "error": validation_error(exc)})
            continue
        export_id = derived_export_id(put.event_id, put.bucket, put.key, put.version, index)
        results.append(
            {"index": index, "status": "QUEUED", "exportId": export_id, "projectId": request.projectId}
        )
        queued.append(
            {
                "detail-type": EXPORT_REQUESTED,
                "source": ENTRY_SOURCE,
                "exportId": export_id,
                "requestFile": f"{put.source}#{index}",
                "detail": request.model_dump(exclude_none=True),
            }
        )
    return results, queued


def _read_entries(files: RequestFiles, key: str) -> list[Any]:
    raw = files.read(key)
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidRequestFile(f"the file is larger than {MAX_FILE_BYTES // 1024} KiB")
    if not raw.removeprefix(strict_json.UTF8_BOM).strip():
        raise InvalidRequestFile("the file is empty")
    try:
        payload = strict_json.loads(raw, bom=True)  # a BOM: what Windows editors write first
    except RequestValidationError as exc:
        error = exc.errors[0]
        if error["field"] == strict_json.BODY:
            raise InvalidRequestFile(f"the file {error['message']}") from None
        raise InvalidRequestFile(f"the file's {error['field']} {error['message']}", error["field"]) from None
    entries = payload if isinstance(payload, list) else [payload]
    if not entries:
        raise InvalidRequestFile("the file lists no request")
    if len(entries) > MAX_FILE_ENTRIES:
        raise InvalidRequestFile(
            f"the file lists {len(entries)} requests; at most {MAX_FILE_ENTRIES} per file"
        )
    return entries


def validation_error(exc: RequestValidationError) -> dict[str, str]:
    """The error a result file or a rejection event carries, its text bounded (a request may name
    thousands of unknown fields, each as long as it likes; an event holds 256 KB)."""
    first = exc.errors[0] if exc.errors else {"field": "", "message": str(exc)}
    return {
        "code": "ValidationError",
        "message": _bounded(str(exc), MAX_MESSAGE_CHARS),
        "field": _bounded(first["field"], MAX_FIELD_CHARS),
    }


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
