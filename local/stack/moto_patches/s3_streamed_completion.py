"""CompleteMultipartUpload assembles the object once, streaming.

moto concatenates every part into a bytearray, copies it into another for the full-object checksum,
makes bytes of both, and then writes the result into the key's spooled file: some 5 copies of the
object in memory, ~10 s for 1 GiB here, paid by every multipart upload.

The patch copies the parts in order, one buffer at a time, straight into the file the new key keeps
its value in, and computes on the way the checksum moto would compute (the same algorithm and type:
FULL_OBJECT over the object, COMPOSITE over the parts' own). The rest is moto's: part and ETag
checks (InvalidPart, EntityTooSmall, MalformedXML), the "<md5 of the parts' md5s>-N" ETag,
If-None-Match, metadata, notifications. The checksums a completion sends are verified on the way
(s3_checksum_verification.py)."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from .checksums import RunningChecksum, default_checksum_type
from .s3_checksum_verification import Completion, listed_part_checksums

_COPY_CHUNK = 1024 * 1024


class _Assembled:
    """A completed multipart object: the spooled file holding its bytes, and its size."""

    def __init__(self, file: IO[bytes], size: int) -> None:
        self.file, self.size = file, size

    def __len__(self) -> int:
        return self.size


def apply() -> None:
    from moto import settings as moto_settings
    from moto.s3 import models
    from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML

    if getattr(models.FakeMultipart, "_local_stack_patched", False):
        return
    value_property = vars(models.FakeKey)["value"]

    def complete(self: Any, body: Iterator[tuple[int, str]]) -> tuple[Any, str, tuple[str, str, int] | None]:
        algorithm = self.metadata.get("x-amz-checksum-algorithm") or "CRC64NVME"
        kind = self.metadata.get("x-amz-checksum-type") or default_checksum_type(algorithm)
        request = body if isinstance(body, Completion) else None  # with s3_checksum_verification
        declared = self.metadata.get("x-amz-checksum-algorithm")
        if request is not None:
            request.check_mode(declared, kind)
        whole = RunningChecksum(algorithm)
        composite = bytearray()
        md5s = bytearray()
        spool = moto_settings.get_s3_default_key_buffer_size()  # as a new key's: larger goes on disk
        out = tempfile.SpooledTemporaryFile(spool)  # noqa: SIM115 - becomes the new key's value
        chunk = bytearray(_COPY_CHUNK)
        view = memoryview(chunk)
        size = count = 0
        last = None
        try:
            for number, etag in body:
                part = self.parts.get(number)
                if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
                    raise InvalidPart()
                if last is not None and last.contentsize < moto_settings.S3_UPLOAD_PART_MIN_SIZE:
                    raise EntityTooSmall()
                # the part checksums listed in the request: those verified at UploadPart compared
                # now, any other computed on the way
                unverified = listed_part_checksums(request, number, part)
                md5s.extend(bytes.fromhex(part.etag.replace('"', "")))
                if size + part.contentsize > spool:
                    out.rollover()  # on disk before it would fill memory first
                own = RunningChecksum(algorithm)
                with part.lock:
                    part._value_buffer.seek(0)
                    while read := part._value_buffer.readinto(chunk):
                        out.write(view[:read])
                        (own if kind == "COMPOSITE" else whole).update(view[:read])
                        for _, running in unverified:
                            running.update(view[:read])
                        size += read
                if any(running.digest() != listed for listed, running in unverified):
                    raise InvalidPart()
                if kind == "COMPOSITE":
                    composite.extend(own.digest())
                last = part
                count += 1
            if count == 0:
                raise MalformedXML
            if kind == "COMPOSITE":
                checksum = RunningChecksum(algorithm)
                checksum.update(composite)
                details = (kind, checksum.b64(), count)
            else:
                details = (kind, whole.b64(), 1)
            if request is not None and kind == "FULL_OBJECT":
                request.verify_full_object(declared, whole)
        except BaseException:
            out.close()
            raise
        return (
            _Assembled(out, size),
            f"{hashlib.md5(bytes(md5s), usedforsecurity=False).hexdigest()}-{count}",
            details,
        )

    def value(self: Any, new_value: Any) -> None:
        if isinstance(new_value, _Assembled):  # the completed upload's file becomes the key's
            self._value_buffer.close()
            self._value_buffer, self.contentsize = new_value.file, new_value.size
        else:
            value_property.fset(self, new_value)

    models.FakeMultipart.complete = complete  # type: ignore[method-assign]
    models.FakeKey.value = value_property.setter(value)  # type: ignore[method-assign]
    models.FakeMultipart._local_stack_patched = True  # type: ignore[attr-defined]
