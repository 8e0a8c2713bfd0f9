"""The S3 side of a delivery: the multipart upload, its part and full-object CRC32C checksums (S3
verifies both), completion that never replaces an existing object, and the retry that finds its
object already there."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import crc32c
from botocore.exceptions import BotoCoreError, ClientError

from ..aws.errors import error_code
from ..errors import PermanentUpstreamError
from ..observability import logger
from .checksums import ObjectDigest, crc32c_b64, crc32c_combine
from .ranges import READ_CHUNK


@dataclass(frozen=True)
class DeliveryResult:
    bucket: str
    key: str
    size: int
    sha256: str
    etag: str
    version_id: str | None
    parts: int
    fetched: int = 0  # bytes received from the source, resumed ranges included
    crc32c: str = ""  # the full-object checksum S3 verified, base64


@dataclass
class Upload:
    """One multipart upload in progress, and the parts it has so far."""

    bucket: str
    key: str
    upload_id: str
    parts: dict[int, dict[str, Any]]


def create(
    s3: Any, bucket: str, key: str, metadata: dict[str, str], filename: str, encryption: Mapping[str, Any]
) -> Upload:
    """`encryption`: the server-side encryption arguments (keys.Encryption); the parts and the
    completion need none (an SSE-KMS upload's parts use the key it was created with)."""
    created = s3.create_multipart_upload(
        Bucket=bucket,
        Key=key,
        ContentType="video/mp4",
        ContentDisposition=content_disposition(filename),
        Metadata=metadata,
        ChecksumAlgorithm="CRC32C",
        ChecksumType="FULL_OBJECT",
        **encryption,
    )
    return Upload(bucket, key, created["UploadId"], {})


class PartBody:
    """A part's bytes as the file-like body botocore sends (and rewinds for a retry), read in slices
    of the caller's buffer, which may be reused afterwards: the part itself is never copied whole."""

    def __init__(self, data: bytes | bytearray) -> None:
        self._view = memoryview(data)
        self._position = 0

    def __len__(self) -> int:
        return len(self._view)

    def read(self, size: int | None = -1) -> bytes:
        start = self._position
        self._position = len(self._view) if size is None or size < 0 else min(len(self._view), start + size)
        return self._view[start : self._position].tobytes()

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: len(self._view)}[whence]
        self._position = max(0, min(len(self._view), base + offset))
        return self._position

    def tell(self) -> int:
        return self._position


def upload_part(s3: Any, upload: Upload, number: int, data: bytes | bytearray) -> int:
    """Upload one part with its CRC32C for S3 to verify; returns that CRC32C."""
    crc = crc32c.crc32c(data)
    checksum = crc32c_b64(crc)
    response = s3.upload_part(
        Bucket=upload.bucket,
        Key=upload.key,
        UploadId=upload.upload_id,
        PartNumber=number,
        Body=PartBody(data),
        ChecksumAlgorithm="CRC32C",
        ChecksumCRC32C=checksum,
    )
    upload.parts[number] = {"ETag": response["ETag"], "PartNumber": number, "ChecksumCRC32C": checksum}
    return crc


class CompletedElsewhere(Exception):  # not an error: it carries the delivery's result
    """The object was completed by a concurrent attempt of the same export (a retried Deliver that
    overlapped the first): `result` is that object, read back."""

    def __init__(self, result: DeliveryResult) -> None:
        super().__init__(f"s3://{result.bucket}/{result.key} completed by another attempt")
        self.result = result


def complete(
    s3: Any, upload: Upload, parts: list[dict[str, Any]], crc32c: str | None, metadata: dict[str, str]
) -> dict[str, Any]:
    """Complete with the full-object CRC32C for S3 to verify, and never over an existing object:
    one that appeared meanwhile is another export's (ObjectExists) or, with this export's id, this
    export's own, completed by a concurrent attempt (CompletedElsewhere)."""
    try:
        completed: dict[str, Any] = s3.complete_multipart_upload(
            Bucket=upload.bucket,
            Key=upload.key,
            UploadId=upload.upload_id,
            MultipartUpload={"Parts": parts},
            ChecksumType="FULL_OBJECT",
            IfNoneMatch="*",
            **({"ChecksumCRC32C": crc32c} if crc32c else {}),
        )
    except ClientError as exc:
        code = error_code(exc)
        if code not in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchUpload"):
            raise
        found = existing(s3, upload.bucket, upload.key, metadata) if metadata.get("export-id") else None
        if found is not None:
            raise CompletedElsewhere(found) from None
        if code == "NoSuchUpload":
            raise  # aborted, and nothing completed it: a cancel
        raise PermanentUpstreamError(
            f"s3://{upload.bucket}/{upload.key} already exists", code="ObjectExists"
        ) from None
    return completed


def abort(s3: Any, upload: Upload) -> None:
    try:
        s3.abort_multipart_upload(Bucket=upload.bucket, Key=upload.key, UploadId=upload.upload_id)
    except ClientError as exc:
        if error_code(exc) != "NoSuchUpload":  # else: already gone
            logger.exception("could not abort multipart upload", extra={"key": upload.key})
    except BotoCoreError:  # the original error matters more; the lifecycle rule cleans up
        logger.exception("could not abort multipart upload", extra={"key": upload.key})


def existing(s3: Any, bucket: str, key: str, metadata: dict[str, str]) -> DeliveryResult | None:
    """A retried delivery whose object is already there (this export's) skips the copy; another
    export's object at this key is never overwritten."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    if head.get("Metadata", {}).get("export-id") != metadata.get("export-id"):
        raise PermanentUpstreamError(f"s3://{bucket}/{key} belongs to another export", code="ObjectExists")
    digest = read_back(s3, bucket, key)
    logger.info("video already delivered; not copied again", extra={"bucket": bucket, "key": key})
    return DeliveryResult(
        bucket, key, int(head["ContentLength"]), digest.sha256(), str(head.get("ETag", "")).strip('"'),
        version_of(head), 0, 0, digest.crc32c(),
    )  # fmt: skip


def content_disposition(filename: str) -> str:
    """attachment; filename="..." with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    from urllib.parse import quote

    name = "".join(c for c in filename if c.isprintable() and c not in '"\\/') or "video.mp4"
    if not name.lower().endswith(".mp4"):
        name += ".mp4"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def resume(s3: Any, bucket: str, key: str, upload_id: str, ranges: list[tuple[int, int]]) -> Upload | None:
    """The parts an earlier attempt left in `upload_id`, kept only where they match this plan
    exactly (size and a CRC32C). None when the upload is gone, or when it cannot be completed as
    planned: cut differently, or created with another checksum than create()'s (S3 would refuse its
    completion); such an upload is aborted, as nothing will ever complete it."""
    upload = Upload(bucket, key, upload_id, {})
    try:
        listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=1000)
        found = list(listed.get("Parts", []))
        while listed.get("IsTruncated"):
            marker = listed["NextPartNumberMarker"]
            listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker)
            found += listed.get("Parts", [])
    except ClientError as exc:
        if error_code(exc) in ("NoSuchUpload", "404"):
            return None
        raise
    created_as_planned = (
        listed.get("ChecksumAlgorithm", "CRC32C"),
        listed.get("ChecksumType", "FULL_OBJECT"),
    )
    if created_as_planned != ("CRC32C", "FULL_OBJECT"):
        return _discard(s3, upload)
    for part in found:
        number = int(part["PartNumber"])
        if (
            not 1 <= number <= len(ranges)
            or int(part["Size"]) != ranges[number - 1][1] - ranges[number - 1][0]
        ):
            return _discard(s3, upload)
        upload.parts[number] = {"ETag": part["ETag"], "PartNumber": number}
        if part.get("ChecksumCRC32C"):  # S3 lists them; an emulator may not
            upload.parts[number]["ChecksumCRC32C"] = part["ChecksumCRC32C"]
    return upload


def _discard(s3: Any, upload: Upload) -> Upload | None:
    """Abort an upload that will never be completed; None: there is nothing to resume."""
    logger.info("earlier upload cannot be resumed; aborted", extra={"key": upload.key})
    abort(s3, upload)
    return None


def full_crc32c(upload: Upload, ranges: list[tuple[int, int]]) -> str | None:
    """The whole object's CRC32C, combined from its parts' in order (None if a part's is unknown:
    S3 then computes it itself, having verified every part's own)."""
    total = 0
    for number, (start, end) in enumerate(ranges, start=1):
        if "ChecksumCRC32C" not in upload.parts[number]:
            return None
        part = int.from_bytes(base64.b64decode(upload.parts[number]["ChecksumCRC32C"]), "big")
        total = part if number == 1 else crc32c_combine(total, part, end - start)
    return crc32c_b64(total)


def read_back(s3: Any, bucket: str, key: str) -> ObjectDigest:
    """The stored object's digests, read from S3 (for a copy whose parts came from several attempts)."""
    digest = ObjectDigest()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in iter(lambda: body.read(READ_CHUNK), b""):
        digest.update(chunk)
    return digest


def version_of(response: dict[str, Any]) -> str | None:
    """The object version S3 reports, or None on an unversioned bucket (which says "null")."""
    version = response.get("VersionId")
    return None if version in (None, "null") else str(version)
