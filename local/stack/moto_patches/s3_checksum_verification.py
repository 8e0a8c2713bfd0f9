"""S3 verifies every checksum a client sends; moto stores them unchecked (its `_get_checksum` says
so: "TODO: AWS computes the provided value and verifies it's the same"), so a client whose checksums
are wrong passes locally and fails on AWS.

The patch makes moto answer as S3 does (LocalStack's S3 tests, recorded against AWS:
tests/aws/services/s3/test_s3.py and its snapshot):
- PutObject and UploadPart: each `x-amz-checksum-<algorithm>` the client sends, as a header or as
  the aws-chunked trailer botocore uses over https, is checked against the body before moto stores
  anything: 400 BadDigest "The CRC32C you specified did not match the calculated checksum."
  (InvalidRequest "Value for x-amz-checksum-crc32c header is invalid." when it is not a digest at
  all). A part keeps the checksums verified, for its completion (and ListParts,
  s3_list_parts_checksums.py).
- CompleteMultipartUpload: a checksum listed with a part must be that part's (else InvalidPart, like
  a wrong ETag); on an upload created with a checksum algorithm, `x-amz-checksum-type` must be the
  upload's (else InvalidRequest), and with FULL_OBJECT the full-object checksum must be sent with
  that type, in the upload's algorithm, and equal the one computed while the parts are streamed into
  the object (else BadDigest "The crc32c you specified did not match the calculated checksum.").
  Nothing is stored and the upload stays open, as on S3. The request's body is read here into a
  `Completion`; the checks are made by the streamed completion (s3_streamed_completion.py) on its way.
Checksums moto cannot compute exactly (CRC64NVME without awscrt, CRC32C without crc32c: moto falls
back to CRC32) are not verified. Correct checksums cost one pass over a PutObject's or part's body
and nothing at completion (the full-object checksum is the one computed anyway)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .checksums import CHECKSUMS, RunningChecksum, digest_of, s3_error


def apply() -> None:
    from moto.s3 import responses
    from moto.s3.exceptions import NoSuchUpload

    if getattr(responses.S3Response, "_local_stack_verifies", False):
        return
    put_object, upload_part = responses.S3Response.put_object, responses.S3Response.upload_part
    listed_parts = responses.S3Response._complete_multipart_body

    def verified_put_object(self: Any) -> Any:
        _verify_body(self)
        return put_object(self)

    def verified_upload_part(self: Any) -> Any:
        verified = _verify_body(self)
        answer = upload_part(self)
        if verified:
            upload = self.backend.get_bucket(self.bucket_name).multiparts.get(self._get_param("uploadId"))
            if upload is None:  # aborted while the part was stored: as S3, the part is gone with it
                raise NoSuchUpload(upload_id=self._get_param("uploadId"))
            upload.parts[self._get_int_param("partNumber")].local_stack_checksums = verified
        return answer

    def completion(self: Any, body: bytes) -> Completion:
        return Completion(listed_parts(self, body), body, self.headers)

    responses.S3Response.put_object = verified_put_object  # type: ignore[method-assign]
    responses.S3Response.upload_part = verified_upload_part  # type: ignore[method-assign]
    responses.S3Response._complete_multipart_body = completion  # type: ignore[assignment,method-assign]
    responses.S3Response._local_stack_verifies = True  # type: ignore[attr-defined]


def _verify_body(response: Any) -> dict[str, bytes]:
    """Checks the PutObject or UploadPart body against the checksums sent with it (S3's errors);
    returns those it verified, by algorithm."""
    claimed = {
        algorithm: value
        for algorithm in CHECKSUMS
        if (value := response.headers.get(f"x-amz-checksum-{algorithm.lower()}"))
    }
    trailer = str(response.headers.get("x-amz-trailer") or "").strip().lower()
    decoded = str(response.headers.get("x-amz-content-sha256") or "").startswith("STREAMING-")
    if trailer.startswith("x-amz-checksum-") and decoded:  # moto decoded the chunks, not the trailer
        algorithm = trailer.removeprefix("x-amz-checksum-").upper()
        value = _trailer_value(response.raw_body, trailer)
        if algorithm in CHECKSUMS and value is not None:
            claimed.setdefault(algorithm, value)
    body = response.body or b""
    if not isinstance(body, bytes | bytearray):
        return {}  # a browser form's field: no checksum headers there
    verified = {}
    for algorithm, value in claimed.items():
        digest = digest_of(algorithm, value)
        if digest is None:
            raise s3_error(
                "InvalidRequest", f"Value for x-amz-checksum-{algorithm.lower()} header is invalid."
            )
        checksum = RunningChecksum(algorithm)
        if not checksum.exact:
            continue
        checksum.update(body)
        if checksum.digest() != digest:
            raise s3_error(
                "BadDigest", f"The {algorithm} you specified did not match the calculated checksum."
            )
        verified[algorithm] = digest
    return verified


def _trailer_value(raw: Any, name: str) -> str | None:
    """The value of trailer `name` at the end of an aws-chunked body (after its last chunk)."""
    tail = bytes(raw[-1024:]) if isinstance(raw, bytes | bytearray) else b""
    start = tail.lower().rfind(b"\n" + name.encode() + b":")
    if start < 0:
        return None
    start += len(name) + 2
    end = tail.find(b"\r\n", start)
    return tail[start : end if end >= 0 else len(tail)].decode("ascii", "replace").strip()


class Completion:
    """A CompleteMultipartUpload request as moto's backend reads it, the (part number, ETag) pairs of
    its body, with what S3 verifies besides: the checksums listed with the parts and the
    full-object checksum headers."""

    def __init__(self, listed: Iterator[tuple[int, str]], body: bytes, headers: Any) -> None:
        from xml.dom import minidom

        self._listed = listed
        self.parts: dict[int, dict[str, str]] = {}
        if b"<Checksum" in body:  # moto parses the same body with minidom
            for part in minidom.parseString(body).getElementsByTagName("Part"):  # noqa: S318
                try:
                    number = int(_text(part.getElementsByTagName("PartNumber")[0]))
                except (IndexError, ValueError):
                    continue  # moto's own parsing refuses it
                sums = self.parts.setdefault(number, {})
                for algorithm in CHECKSUMS:
                    for element in part.getElementsByTagName(f"Checksum{algorithm}"):
                        sums[algorithm] = _text(element)
        self.claimed = {
            algorithm: value
            for algorithm in CHECKSUMS
            if (value := headers.get(f"x-amz-checksum-{algorithm.lower()}"))
        }
        self.kind = headers.get("x-amz-checksum-type")

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return iter(self._listed)

    def check_mode(self, algorithm: str | None, kind: str) -> None:
        """The checksum type sent must be that of the upload (created with `algorithm` and `kind`)."""
        if algorithm is not None and self.kind is not None and self.kind != kind:
            raise s3_error(
                "InvalidRequest",
                f"The upload was created using the {kind} checksum mode. "
                "The complete request must use the same checksum mode.",
            )

    def verify_full_object(self, algorithm: str | None, computed: RunningChecksum) -> None:
        """The full-object checksum sent against `computed`, the object's, for a FULL_OBJECT upload
        created with checksum `algorithm` (composite checksums are not checked, nor uploads created
        without a checksum: as LocalStack)."""
        if algorithm is None or not self.claimed:
            return
        value = self.claimed.get(algorithm)
        if (
            set(self.claimed) != {algorithm}
            or self.kind is None  # S3 wants the type with a full-object checksum
            or (computed.exact and digest_of(algorithm, value or "") != computed.digest())
        ):
            raise s3_error(
                "BadDigest", f"The {algorithm.lower()} you specified did not match the calculated checksum."
            )


def _text(element: Any) -> str:
    return "".join(node.data for node in element.childNodes if node.nodeType == node.TEXT_NODE)


def listed_part_checksums(
    request: Completion | None, number: int, part: Any
) -> list[tuple[bytes, RunningChecksum]]:
    """Compares the checksums `request` lists with part `number` with those verified when it was
    uploaded (InvalidPart, as S3); returns, to be computed over the part, those it has not."""
    unverified = []
    known = getattr(part, "local_stack_checksums", {})
    for algorithm, value in (request.parts.get(number, {}) if request is not None else {}).items():
        digest = digest_of(algorithm, value)
        if digest is None or (algorithm in known and known[algorithm] != digest):
            from moto.s3.exceptions import InvalidPart

            raise InvalidPart()
        if algorithm not in known and (running := RunningChecksum(algorithm)).exact:
            unverified.append((digest, running))
    return unverified
