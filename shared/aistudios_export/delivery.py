"""Streams a finished video from its download URL into S3 with a multipart upload, and verifies it."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests
from botocore.exceptions import BotoCoreError, ClientError

from .errors import DeliveryVerificationError, PermanentUpstreamError, TransientUpstreamError
from .observability import logger
from .pinned_http import PinnedAdapter, pinned_session
from .urls import redact_url, resolve_target

MIN_PART_SIZE = 5 * 1024 * 1024
READ_CHUNK = 1024 * 1024
MAX_REDIRECTS = 3
VIDEO_TYPES = ("video/", "application/octet-stream", "binary/octet-stream")


@dataclass(frozen=True)
class DeliveryResult:
    bucket: str
    key: str
    size: int
    sha256: str
    etag: str
    version_id: str | None
    parts: int


class VideoDelivery:
    """Copies one video into S3 without holding more than one part in memory and nothing on disk."""

    def __init__(
        self,
        s3: Any,
        session: requests.Session | None = None,
        *,
        part_size: int = 16 * 1024 * 1024,
        timeout: tuple[float, float] = (3.05, 30.0),
        local_origin: str | None = None,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        """`session` None (production) connects only to validated, pinned addresses; a session given
        by a test still has every URL validated but keeps its own transport."""
        if part_size < MIN_PART_SIZE:
            raise ValueError("S3 multipart parts must be at least 5 MiB")
        self._s3 = s3
        self._pins: PinnedAdapter | None = None
        if session is None:
            session, self._pins = pinned_session()
        self._session = session
        self._part_size = part_size
        self._timeout = timeout
        self._local_origin = local_origin
        self._allowed_hosts = tuple(allowed_hosts)

    def deliver(self, url: str, *, bucket: str, key: str, metadata: dict[str, str]) -> DeliveryResult:
        response = self._open(url)
        upload_id: str | None = None
        try:
            expected = _content_length(response)
            upload = self._s3.create_multipart_upload(
                Bucket=bucket,
                Key=key,
                ContentType="video/mp4",
                Metadata=metadata,
                ServerSideEncryption="AES256",
                ChecksumAlgorithm="SHA256",
            )
            upload_id = upload["UploadId"]
            digest = hashlib.sha256()
            parts: list[dict[str, Any]] = []
            buffer = bytearray()
            total = 0
            for chunk in response.iter_content(chunk_size=READ_CHUNK):
                if not total and chunk and len(chunk) >= 8 and chunk[4:8] != b"ftyp":
                    raise PermanentUpstreamError("the download is not an MP4 file", code="NotAVideo")
                total += len(chunk)
                digest.update(chunk)
                buffer += chunk
                if len(buffer) >= self._part_size:
                    parts.append(self._upload_part(bucket, key, upload_id, len(parts) + 1, buffer))
                    buffer = bytearray()
            if buffer or not parts:
                parts.append(self._upload_part(bucket, key, upload_id, len(parts) + 1, buffer))
            if total == 0:
                raise DeliveryVerificationError("the download was empty", code="EmptyDownload")
            if expected is not None and total != expected:
                raise DeliveryVerificationError(
                    f"received {total} bytes but the source announced {expected}", code="SizeMismatch"
                )
            completed = self._s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
            upload_id = None
            head = self._s3.head_object(Bucket=bucket, Key=key)
            if int(head["ContentLength"]) != total:
                raise DeliveryVerificationError(
                    f"S3 holds {head['ContentLength']} bytes but {total} were sent", code="SizeMismatch"
                )
        except requests.RequestException as exc:
            raise TransientUpstreamError(
                f"download interrupted: {type(exc).__name__}", code="DownloadInterrupted"
            ) from None
        finally:
            response.close()
            if upload_id is not None:
                self._abort(bucket, key, upload_id)
        result = DeliveryResult(
            bucket=bucket,
            key=key,
            size=total,
            sha256=digest.hexdigest(),
            etag=str(completed.get("ETag", "")).strip('"'),
            version_id=completed.get("VersionId")
            if completed.get("VersionId") not in (None, "null")
            else None,
            parts=len(parts),
        )
        logger.info(
            "video delivered",
            extra={
                "bucket": bucket,
                "key": key,
                "size": result.size,
                "parts": result.parts,
                "sha256": result.sha256,
            },
        )
        return result

    def _open(self, url: str) -> requests.Response:
        """GET the URL, following at most MAX_REDIRECTS redirects, each target validated like the first."""
        for _ in range(MAX_REDIRECTS + 1):
            safe = resolve_target(url, local_origin=self._local_origin, allowed_hosts=self._allowed_hosts)
            if self._pins is not None:
                self._pins.pin(safe)
            try:
                response = self._session.get(url, stream=True, timeout=self._timeout, allow_redirects=False)
            except requests.RequestException as exc:
                raise TransientUpstreamError(
                    f"could not reach the download host: {type(exc).__name__}", code="DownloadUnreachable"
                ) from None
            status = response.status_code
            if status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                target = urljoin(url, response.headers["Location"])
                response.close()
                logger.info("download redirected", extra={"to": redact_url(target)})
                url = target
                continue
            if status == 200:
                content_type = response.headers.get("Content-Type", "").lower()
                if content_type and not content_type.startswith(VIDEO_TYPES):
                    response.close()
                    raise PermanentUpstreamError(
                        f"the download is {content_type}, not a video", code="NotAVideo"
                    )
                return response
            response.close()
            if status == 429 or status >= 500:
                raise TransientUpstreamError(f"download host answered HTTP {status}", code=f"HTTP{status}")
            code = {403: "DownloadForbidden", 404: "DownloadNotFound", 410: "DownloadExpired"}.get(
                status, f"HTTP{status}"
            )
            raise PermanentUpstreamError(f"download host answered HTTP {status}", code=code, status=status)
        raise PermanentUpstreamError("too many redirects from the download host", code="TooManyRedirects")

    def _upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, data: bytearray
    ) -> dict[str, Any]:
        body = bytes(data)
        checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
        response = self._s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=checksum,
        )
        return {"ETag": response["ETag"], "PartNumber": number, "ChecksumSHA256": checksum}

    def _abort(self, bucket: str, key: str, upload_id: str) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except (BotoCoreError, ClientError):  # the original error matters more; the lifecycle rule cleans up
            logger.exception("could not abort multipart upload", extra={"key": key})


def _content_length(response: requests.Response) -> int | None:
    raw = response.headers.get("Content-Length")
    if raw is None or response.headers.get("Content-Encoding"):
        return None
    try:
        return int(raw)
    except ValueError:
        return None
