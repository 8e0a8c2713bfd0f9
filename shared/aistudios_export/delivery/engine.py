"""Copies a finished video from its download URL into S3 with a multipart upload, and verifies it.

When the source serves byte ranges and says how long the video is, `workers` connections each fetch a
range and upload it as a part (a CDN caps each connection, not the sum); otherwise one stream, as a
plain download. Memory stays within about part size x 2 x workers whatever the video's size (the
workers within the function's memory, memory.py); a video over `max_bytes` is refused before any byte
is fetched, or cut there when its source does not say its size; nothing touches the disk."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import requests

from ..errors import DeliveryVerificationError, PermanentUpstreamError, TransientUpstreamError
from ..net.pinned import PinnedAdapter, pinned_session
from ..observability import logger
from . import multipart
from .checksums import ObjectDigest
from .keys import SSE_S3_ARGUMENTS
from .memory import DEFAULT_MAX_VIDEO_BYTES, too_large, workers_within
from .multipart import DeliveryResult, Upload
from .ranges import (
    MIN_PART_SIZE,
    MP4_HEAD,
    PartBuffers,
    check_mp4,
    content_length,
    fetch_range,
    part_size_for,
    plan_ranges,
    read_into,
)
from .source import open_download
from .stream import copy_stream


class VideoDelivery:
    """Copies one video into S3 without holding more than one part in memory and nothing on disk."""

    def __init__(
        self,
        s3: Any,
        session: requests.Session | None = None,
        *,
        part_size: int = 8 * 1024 * 1024,
        workers: int = 8,
        timeout: tuple[float, float] = (3.05, 30.0),
        local_origin: str | None = None,
        allowed_hosts: Iterable[str] = (),
        memory: int | None = None,
        max_bytes: int = DEFAULT_MAX_VIDEO_BYTES,
        encryption: Mapping[str, Any] = SSE_S3_ARGUMENTS,
    ) -> None:
        """`session` None (production) connects only to validated, pinned addresses; a session given
        by a test still has every URL validated but keeps its own transport. `memory` (bytes, the
        function's): fewer workers than `workers` when their parts would not fit (memory.py).
        `max_bytes`: the largest video copied (MaxVideoBytes). `encryption`: the objects' (keys.py)."""
        if part_size < MIN_PART_SIZE:
            raise ValueError("S3 multipart parts must be at least 5 MiB")
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self._s3 = s3
        self._pins: PinnedAdapter | None = None
        if session is None:
            session, self._pins = pinned_session()
        self._session = session
        self._part_size = part_size
        self._timeout = timeout
        self._workers, self._memory = max(1, workers), memory
        self._max_bytes, self._encryption = max_bytes, dict(encryption)
        self._run_workers = self._workers  # this delivery's, within memory
        self._local_origin = local_origin
        self._allowed_hosts = tuple(allowed_hosts)
        self._cancelled: Callable[[], bool] | None = None

    def deliver(
        self,
        url: str,
        *,
        bucket: str,
        key: str,
        metadata: dict[str, str],
        filename: str = "video.mp4",
        resume_upload_id: str | None = None,
        on_upload: Callable[[str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> DeliveryResult:
        """`resume_upload_id`: the upload an earlier attempt left behind (it timed out or crashed);
        its matching parts are kept and only the rest is fetched. `on_upload` learns a new upload's
        id as soon as it exists, so that the next attempt can resume it. `cancelled` is asked before
        each part: once it says yes, the upload is aborted and nothing is stored."""
        self._cancelled = cancelled
        existing = multipart.existing(self._s3, bucket, key, metadata)
        if existing is not None:
            return existing
        response, final_url = open_download(
            self._session,
            url,
            self._timeout,
            self._pins,
            local_origin=self._local_origin,
            allowed_hosts=self._allowed_hosts,
        )
        try:
            length = content_length(response)
            if length is not None and length > self._max_bytes:
                raise too_large(length, self._max_bytes)
            # Without a length the stream may run up to the limit: its parts are cut for that.
            part = part_size_for(length or self._max_bytes, self._part_size)
            self._run_workers = workers_within(self._memory, part, self._workers)
            ranged = response.headers.get("Accept-Ranges", "").lower() == "bytes"
            parallel = self._run_workers > 1 and ranged and bool(length) and (length or 0) > MIN_PART_SIZE
            if parallel and length and resume_upload_id:
                ranges = plan_ranges(length, part)
                resumed = multipart.resume(self._s3, bucket, key, resume_upload_id, ranges)
                if resumed is not None:
                    response.close()
                    return self._finish_resumed(resumed, final_url, ranges, metadata)
            upload = multipart.create(self._s3, bucket, key, metadata, filename, self._encryption)
            if on_upload is not None:
                on_upload(upload.upload_id)
            return self._copy(response, final_url, length, part, parallel, upload, metadata)
        except requests.RequestException as exc:
            raise TransientUpstreamError(
                f"download interrupted: {type(exc).__name__}", code="DownloadInterrupted"
            ) from None
        finally:
            response.close()

    def _copy(
        self,
        response: requests.Response,
        url: str,
        length: int | None,
        part: int,
        parallel: bool,
        upload: Upload,
        metadata: dict[str, str],
    ) -> DeliveryResult:
        """Every byte into the new upload, completed and verified; the upload is aborted on any failure."""
        try:
            if parallel and length:
                total, digest, fetched = self._parallel(response, url, length, upload)
            else:
                total, digest = copy_stream(response, part, self._max_bytes, self._next_part(upload))
                fetched = total
            if total == 0:
                raise DeliveryVerificationError("the download was empty", code="EmptyDownload")
            if length is not None and total != length:
                raise DeliveryVerificationError(
                    f"received {total} bytes but the source announced {length}", code="SizeMismatch"
                )
            parts = [upload.parts[n] for n in sorted(upload.parts)]
            completed = multipart.complete(self._s3, upload, parts, digest.crc32c(), metadata)
        except BaseException as exc:
            multipart.abort(self._s3, upload)
            if isinstance(exc, multipart.CompletedElsewhere):  # another attempt's object: the result
                return exc.result
            raise
        head = self._s3.head_object(Bucket=upload.bucket, Key=upload.key)
        if int(head["ContentLength"]) != total:
            raise DeliveryVerificationError(
                f"S3 holds {head['ContentLength']} bytes but {total} were sent", code="SizeMismatch"
            )
        result = DeliveryResult(
            upload.bucket, upload.key, total, digest.sha256(), str(completed.get("ETag", "")).strip('"'),
            multipart.version_of(completed), len(parts), fetched, digest.crc32c(),
        )  # fmt: skip
        logger.info(
            "video delivered",
            extra={
                "bucket": upload.bucket,
                "key": upload.key,
                "size": total,
                "parts": len(parts),
                "sha256": result.sha256,
            },
        )
        return result

    def _finish_resumed(
        self, upload: Upload, url: str, ranges: list[tuple[int, int]], metadata: dict[str, str]
    ) -> DeliveryResult:
        """Fetch only the parts the earlier attempt did not upload, then complete and verify."""
        kept = set(upload.parts)
        fetched = [0]

        def part(number: int) -> None:
            start, end = ranges[number - 1]
            data = self._fetch(url, start, end, ranges[-1][1], on_bytes=fetched.append)
            if number == 1:
                check_mp4(data[:MP4_HEAD])
            self._put_part(upload, number, data)

        try:
            with ThreadPoolExecutor(max_workers=self._run_workers, thread_name_prefix="part") as pool:
                for future in [pool.submit(part, n) for n in range(1, len(ranges) + 1) if n not in kept]:
                    future.result()
            parts = [upload.parts[n] for n in range(1, len(ranges) + 1)]
            crc = multipart.full_crc32c(upload, ranges)
            completed = multipart.complete(self._s3, upload, parts, crc, metadata)
        except BaseException as exc:
            multipart.abort(self._s3, upload)  # also when another attempt completed the object
            if isinstance(exc, multipart.CompletedElsewhere):
                return exc.result
            raise
        digest = multipart.read_back(self._s3, upload.bucket, upload.key)
        logger.info("video delivered, resumed", extra={"key": upload.key, "partsKept": len(kept)})
        return DeliveryResult(
            upload.bucket, upload.key, ranges[-1][1], digest.sha256(), str(completed.get("ETag", "")).strip('"'),
            multipart.version_of(completed), len(parts), sum(fetched), digest.crc32c(),
        )  # fmt: skip

    def _parallel(
        self, response: requests.Response, url: str, length: int, upload: Upload
    ) -> tuple[int, ObjectDigest, int]:
        """Ranges fetched by `workers` connections, each range uploaded as a part while its connection
        fetches the next one (at most `workers` uploads at once), hashed in order.

        Part 1 is read from the open GET while the other connections start. At most 2 x `workers`
        parts are in memory, in buffers reused from part to part: a part is fetched only once every
        part 2 x `workers` places before it has been uploaded and hashed."""
        ranges = plan_ranges(length, part_size_for(length, self._part_size))
        window = 2 * self._run_workers  # `workers` connections fetch while as many parts upload
        fetching, uploading = threading.Semaphore(self._run_workers), threading.Semaphore(self._run_workers)
        buffers = PartBuffers(ranges[0][1])
        digest = ObjectDigest()
        fetched: list[int] = []
        done: dict[int, tuple[bytearray, int]] = {}
        stop = threading.Event()

        def count(size: int) -> None:
            if stop.is_set():  # another part failed: stop reading, the upload is being aborted
                raise _Stopped
            fetched.append(size)

        def part(number: int) -> tuple[int, bytearray, int]:
            start, end = ranges[number - 1]
            with fetching:  # the buffer is taken with the slot: no part waits holding one
                data = buffers.take(end - start)
                have = 0
                if number == 1:  # part 1 comes from the open GET, which is then left
                    have = read_into(response, memoryview(data), count)
                    response.close()
                self._fetch(url, start, end, length, into=data, have=have, on_bytes=count)
            if number == 1:
                check_mp4(data[:MP4_HEAD])
            with uploading:
                return number, data, self._put_part(upload, number, data)

        with ThreadPoolExecutor(max_workers=window, thread_name_prefix="part") as pool:
            pending: set[Future[tuple[int, bytearray, int]]] = set()
            next_part, next_hash = 1, 1
            try:
                while next_hash <= len(ranges):
                    while next_part <= len(ranges) and next_part < next_hash + window:
                        pending.add(pool.submit(part, next_part))
                        next_part += 1
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        number, data, crc = future.result()
                        done[number] = (data, crc)
                    while next_hash in done:
                        data, crc = done.pop(next_hash)
                        digest.update(data, crc)  # the part's CRC32C is combined, not recomputed
                        buffers.give(data)
                        next_hash += 1
            except BaseException:
                stop.set()
                for future in pending:
                    future.cancel()
                raise
        return length, digest, sum(fetched)

    def _next_part(self, upload: Upload) -> Callable[[bytes], object]:
        """Uploads what it is given as the upload's next part (the single stream's parts)."""
        return lambda data: self._put_part(upload, len(upload.parts) + 1, data)

    def _fetch(self, url: str, start: int, end: int, length: int, **kwargs: Any) -> bytearray:
        """fetch_range over this delivery's connections, each answer held to the video's `length`
        and to the size limit."""
        return fetch_range(self._ranged_get, url, start, end, total=length, limit=self._max_bytes, **kwargs)

    def _put_part(self, upload: Upload, number: int, data: bytes | bytearray) -> int:
        if self._cancelled is not None and self._cancelled():
            raise PermanentUpstreamError("the export was cancelled during the copy", code="ExportCancelled")
        return multipart.upload_part(self._s3, upload, number, data)

    def _ranged_get(self, url: str, headers: dict[str, str]) -> requests.Response:
        return self._session.get(
            url, headers=headers, stream=True, timeout=self._timeout, allow_redirects=False
        )


class _Stopped(Exception):
    """Raised inside a worker whose sibling failed."""
