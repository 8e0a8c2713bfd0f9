"""Delivery into S3 (moto in-process) from an origin served by a requests transport adapter, so
each branch (redirects, refusals, truncation, not a video) is reached without a socket."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto import mock_aws
from requests.adapters import BaseAdapter

from aistudios_export import (
    DeliveryVerificationError,
    PermanentUpstreamError,
    TransientUpstreamError,
    UnsafeUrlError,
)
from aistudios_export.delivery.engine import MIN_PART_SIZE, VideoDelivery

pytestmark = pytest.mark.unit
ORIGIN = "https://93.184.216.34"  # a public literal address: validated without DNS
BUCKET = "videos"
Handler = Callable[[requests.PreparedRequest], tuple[int, dict[str, str], Any]]


class Origin(BaseAdapter):
    """Answers each request with what `handler` returns; remembers what was asked."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.requests: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append(str(request.url))
        status, headers, body = self.handler(request)
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers)
        response.raw = io.BytesIO(body) if isinstance(body, bytes) else body  # or a stream of its own
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        pass


def serving(handler: Handler) -> tuple[requests.Session, Origin]:
    """A session whose https requests `handler` answers, and the Origin that records them."""
    origin = Origin(handler)
    session = requests.Session()
    session.mount("https://", origin)
    return session, origin


def mp4(size: int) -> bytes:
    head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    return head + bytes(i % 251 for i in range(size - len(head)))


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def deliver(s3: Any, handler: Handler, url: str = f"{ORIGIN}/v.mp4") -> tuple[Any, Origin]:
    session, origin = serving(handler)
    delivery = VideoDelivery(s3, session, part_size=MIN_PART_SIZE)
    return delivery.deliver(url, bucket=BUCKET, key="k.mp4", metadata={"export-id": "e"}), origin


def no_uploads_left(s3: Any) -> bool:
    return not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_a_video_in_several_parts_arrives_byte_for_byte(s3: Any) -> None:
    body = mp4(2 * MIN_PART_SIZE + 123)
    result, _ = deliver(
        s3, lambda r: (200, {"Content-Type": "video/mp4", "Content-Length": str(len(body))}, body)
    )
    assert result.parts == 3
    assert result.size == len(body)
    assert result.sha256 == hashlib.sha256(body).hexdigest()
    stored = s3.get_object(Bucket=BUCKET, Key="k.mp4")
    assert stored["Body"].read() == body
    assert stored["ContentType"] == "video/mp4"
    assert stored["Metadata"] == {"export-id": "e"}


def test_a_redirect_is_followed_and_validated(s3: Any) -> None:
    body = mp4(1000)

    def handler(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        if request.url == f"{ORIGIN}/v.mp4":
            return 302, {"Location": "/cdn/v.mp4"}, b""
        return 200, {"Content-Type": "video/mp4"}, body

    result, origin = deliver(s3, handler)
    assert result.size == 1000
    assert origin.requests == [f"{ORIGIN}/v.mp4", f"{ORIGIN}/cdn/v.mp4"]


def test_a_redirect_to_a_private_address_is_refused_before_it_is_fetched(s3: Any) -> None:
    session, origin = serving(lambda r: (302, {"Location": "https://169.254.169.254/latest"}, b""))
    with pytest.raises(UnsafeUrlError):
        VideoDelivery(s3, session).deliver(f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={})
    assert origin.requests == [f"{ORIGIN}/v.mp4"]
    assert no_uploads_left(s3)


def test_too_many_redirects_are_refused(s3: Any) -> None:
    counter = iter(range(100))
    with pytest.raises(PermanentUpstreamError) as caught:
        deliver(s3, lambda r: (302, {"Location": f"/hop{next(counter)}"}, b""))
    assert caught.value.code == "TooManyRedirects"
    assert no_uploads_left(s3)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/html", b"<html>expired</html>"), ("", b"<html><body>login</body></html>")],
)
def test_a_body_that_is_not_a_video_is_refused_and_nothing_is_stored(
    s3: Any, content_type: str, body: bytes
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    with pytest.raises(PermanentUpstreamError) as caught:
        deliver(s3, lambda r: (200, headers, body))
    assert caught.value.code == "NotAVideo"
    assert no_uploads_left(s3)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_fewer_bytes_than_announced_is_a_size_mismatch_and_nothing_is_stored(s3: Any) -> None:
    body = mp4(4000)
    with pytest.raises(DeliveryVerificationError) as caught:
        deliver(s3, lambda r: (200, {"Content-Type": "video/mp4", "Content-Length": "5000"}, body))
    assert caught.value.code == "SizeMismatch"
    assert no_uploads_left(s3)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_an_empty_download_is_refused(s3: Any) -> None:
    with pytest.raises(DeliveryVerificationError) as caught:
        deliver(s3, lambda r: (200, {"Content-Type": "video/mp4"}, b""))
    assert caught.value.code == "EmptyDownload"
    assert no_uploads_left(s3)


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (403, PermanentUpstreamError, "DownloadForbidden"),
        (404, PermanentUpstreamError, "DownloadNotFound"),
        (410, PermanentUpstreamError, "DownloadExpired"),
        (503, TransientUpstreamError, "HTTP503"),
        (429, TransientUpstreamError, "HTTP429"),
    ],
)
def test_refusals_from_the_download_host(s3: Any, status: int, error: type[Exception], code: str) -> None:
    with pytest.raises(error) as caught:
        deliver(s3, lambda r: (status, {}, b"no"))
    assert getattr(caught.value, "code", None) == code


def test_unsafe_urls_are_never_fetched(s3: Any) -> None:
    session, origin = serving(lambda r: (200, {"Content-Type": "video/mp4"}, mp4(100)))
    session.mount("http://", origin)
    delivery = VideoDelivery(s3, session)
    for url in (
        "http://93.184.216.34/v.mp4",
        "https://10.0.0.1/v.mp4",
        "https://[::1]/v",
        "file:///etc/passwd",
    ):
        with pytest.raises(UnsafeUrlError):
            delivery.deliver(url, bucket=BUCKET, key="k.mp4", metadata={})
    assert origin.requests == []
    assert no_uploads_left(s3)


def test_parts_below_the_s3_minimum_are_refused() -> None:
    with pytest.raises(ValueError, match="5 MiB"):
        VideoDelivery(None, requests.Session(), part_size=MIN_PART_SIZE - 1)


class Ranged:
    """An origin that serves `body` with byte ranges, like a CDN; `cut` shortens chosen answers."""

    def __init__(
        self,
        body: bytes,
        cut: dict[int, int] | None = None,
        status: dict[int, int] | None = None,
        cut_from: dict[int, int] | None = None,
    ):
        self.body = body
        self.ranges: list[str] = []
        self.cut = cut or {}  # answer index -> bytes to send before the connection drops
        self.status = status or {}  # answer index -> HTTP status instead of 206
        self.cut_from = dict(cut_from or {})  # first byte asked -> bytes sent before it drops (once)
        self.sent = 0

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        wanted = request.headers.get("Range")
        index = len(self.ranges)
        self.ranges.append(str(wanted))
        if index in self.status:
            return self.status[index], {}, b"expired"
        if wanted is None:
            data, status, headers = self.body, 200, {}
        else:
            first, last = (int(x) for x in wanted.removeprefix("bytes=").split("-"))
            data, status = self.body[first : last + 1], 206
            headers = {"Content-Range": f"bytes {first}-{last}/{len(self.body)}"}
            if first in self.cut_from:
                data = data[: self.cut_from.pop(first)]
        data = data[: self.cut[index]] if index in self.cut else data
        if wanted is not None:
            self.sent += len(data)
        return (
            status,
            {
                "Content-Type": "video/mp4",
                "Accept-Ranges": "bytes",
                "Content-Length": str(len(self.body) if wanted is None else len(data)),
                **headers,
            },
            data,
        )


def deliver_ranged(s3: Any, origin: Ranged, workers: int = 4) -> tuple[Any, Origin]:
    session, adapter = serving(origin)
    delivery = VideoDelivery(s3, session, part_size=MIN_PART_SIZE, workers=workers)
    return delivery.deliver(f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={}), adapter


def test_ranges_are_fetched_in_parallel_and_the_object_is_byte_identical(s3: Any) -> None:
    body = mp4(3 * MIN_PART_SIZE + 4321)
    origin = Ranged(body)

    result, _ = deliver_ranged(s3, origin)

    assert result.parts == 4
    assert result.sha256 == hashlib.sha256(body).hexdigest()
    assert result.fetched == len(body)
    assert s3.get_object(Bucket=BUCKET, Key="k.mp4")["Body"].read() == body
    assert origin.ranges[0] == "None"  # the first GET gives part 1 and tells the length
    assert sorted(origin.ranges[1:]) == sorted(
        f"bytes={s}-{min(s + MIN_PART_SIZE, len(body)) - 1}"
        for s in range(MIN_PART_SIZE, len(body), MIN_PART_SIZE)
    )


def test_a_range_cut_short_is_resumed_from_its_first_missing_byte(s3: Any) -> None:
    body = mp4(3 * MIN_PART_SIZE)
    origin = Ranged(body, cut_from={MIN_PART_SIZE: 1000})  # part 2's range drops after 1,000 bytes

    result, _ = deliver_ranged(s3, origin, workers=2)

    assert s3.get_object(Bucket=BUCKET, Key="k.mp4")["Body"].read() == body
    # only the missing bytes were fetched again: part 1 from the first GET, the rest by range once
    assert result.fetched == len(body)
    assert origin.sent == len(body) - MIN_PART_SIZE
    resumed = [r for r in origin.ranges if r.startswith(f"bytes={MIN_PART_SIZE + 1000}-")]
    assert resumed == [f"bytes={MIN_PART_SIZE + 1000}-{2 * MIN_PART_SIZE - 1}"]


def test_a_range_that_keeps_failing_aborts_the_upload(s3: Any) -> None:
    body = mp4(3 * MIN_PART_SIZE)
    origin = Ranged(body, cut=dict.fromkeys(range(1, 30), 10))

    with pytest.raises(TransientUpstreamError) as caught:
        deliver_ranged(s3, origin, workers=2)

    assert caught.value.code == "RangeIncomplete"
    assert no_uploads_left(s3)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


@pytest.mark.parametrize(("status", "code"), [(403, "DownloadForbidden"), (200, "RangeIgnored")])
def test_an_expired_or_ignored_range_aborts_the_upload(s3: Any, status: int, code: str) -> None:
    body = mp4(3 * MIN_PART_SIZE)
    origin = Ranged(body, status={1: status, 2: status, 3: status})

    with pytest.raises((PermanentUpstreamError, DeliveryVerificationError)) as caught:
        deliver_ranged(s3, origin, workers=2)

    assert getattr(caught.value, "code", None) == code
    assert no_uploads_left(s3)


def test_parts_grow_so_that_no_video_needs_more_than_ten_thousand() -> None:
    from aistudios_export.delivery.ranges import MAX_PARTS, part_size_for, plan_ranges

    assert part_size_for(10 * 2**20, 16 * 2**20) == 16 * 2**20
    assert part_size_for(1, 1) == MIN_PART_SIZE
    huge = 200 * 2**30
    size = part_size_for(huge, MIN_PART_SIZE)
    assert size % 2**20 == 0
    assert len(plan_ranges(huge, size)) <= MAX_PARTS


def test_the_object_is_well_formed_and_carries_a_full_object_crc32c(s3: Any) -> None:
    import base64

    import crc32c

    body = mp4(2 * MIN_PART_SIZE + 99)
    session, _ = serving(Ranged(body))
    delivery = VideoDelivery(s3, session, part_size=MIN_PART_SIZE, workers=3)

    result = delivery.deliver(
        f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={"export-id": "e1"}, filename="Spring promo"
    )

    assert base64.b64decode(result.crc32c) == crc32c.crc32c(body).to_bytes(4, "big")
    head = s3.head_object(Bucket=BUCKET, Key="k.mp4")
    assert head["ContentType"] == "video/mp4"
    assert head["ContentDisposition"] == (
        "attachment; filename=\"Spring promo.mp4\"; filename*=UTF-8''Spring%20promo.mp4"
    )
    assert head["Metadata"] == {"export-id": "e1"}


def test_a_retried_delivery_finds_its_object_and_does_not_copy_again(s3: Any) -> None:
    body = mp4(1000)
    first, _ = deliver(s3, lambda r: (200, {"Content-Type": "video/mp4"}, body))
    # the first attempt completed; the retry must not fetch anything
    session, origin = serving(lambda r: (500, {}, b""))

    again = VideoDelivery(s3, session).deliver(
        f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={"export-id": "e"}
    )

    assert origin.requests == []
    assert (again.size, again.sha256, again.crc32c) == (first.size, first.sha256, first.crc32c)


def test_another_exports_object_is_never_overwritten(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="k.mp4", Body=b"theirs", Metadata={"export-id": "someone-else"})
    session, origin = serving(lambda r: (200, {"Content-Type": "video/mp4"}, mp4(1000)))

    with pytest.raises(PermanentUpstreamError) as caught:
        VideoDelivery(s3, session).deliver(
            f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={"export-id": "e"}
        )

    assert caught.value.code == "ObjectExists"
    assert s3.get_object(Bucket=BUCKET, Key="k.mp4")["Body"].read() == b"theirs"
    assert origin.requests == []


def test_completion_never_replaces_an_object_that_appeared_meanwhile(s3: Any) -> None:
    def handler(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        # another writer lands on the key while this delivery streams
        s3.put_object(Bucket=BUCKET, Key="k.mp4", Body=b"theirs")
        return 200, {"Content-Type": "video/mp4"}, mp4(1000)

    with pytest.raises(PermanentUpstreamError) as caught:
        deliver(s3, handler)

    assert caught.value.code == "ObjectExists"
    assert s3.get_object(Bucket=BUCKET, Key="k.mp4")["Body"].read() == b"theirs"
    assert no_uploads_left(s3)


@pytest.mark.parametrize("first_attempt_aborts", [False, True])
def test_an_overlapping_attempt_that_completed_first_is_this_deliverys_result(
    s3: Any, first_attempt_aborts: bool
) -> None:
    """A Deliver retried while the first attempt still runs (Step Functions retries a Lambda service
    error): the first completes the export's object while this one streams. This one's completion
    finds it (PreconditionFailed, or NoSuchUpload when the first aborted this upload), takes it as
    the result, and leaves no upload behind."""
    body = mp4(2 * MIN_PART_SIZE + 123)

    def first_attempt_completes(params: dict[str, Any], **_: Any) -> None:
        s3.meta.events.unregister("provide-client-params.s3.CompleteMultipartUpload", first_attempt_completes)
        if first_attempt_aborts:
            s3.abort_multipart_upload(Bucket=BUCKET, Key="k.mp4", UploadId=params["UploadId"])
        s3.put_object(Bucket=BUCKET, Key="k.mp4", Body=body, Metadata={"export-id": "e"})

    s3.meta.events.register("provide-client-params.s3.CompleteMultipartUpload", first_attempt_completes)
    result, _ = deliver(s3, lambda r: (200, {"Content-Type": "video/mp4"}, body))

    assert result.sha256 == hashlib.sha256(body).hexdigest()
    assert result.size == len(body)
    assert s3.get_object(Bucket=BUCKET, Key="k.mp4")["Body"].read() == body
    assert no_uploads_left(s3)


def test_crc32c_of_parts_combines_into_the_whole_objects() -> None:
    import crc32c

    from aistudios_export.delivery.checksums import crc32c_combine

    a, b = mp4(1000), bytes(range(256)) * 37
    assert crc32c_combine(crc32c.crc32c(a), crc32c.crc32c(b), len(b)) == crc32c.crc32c(a + b)
    assert crc32c_combine(crc32c.crc32c(a), crc32c.crc32c(b""), 0) == crc32c.crc32c(a)


def _half_done_upload(s3: Any, body: bytes, parts: int) -> str:
    """What a Deliver attempt that crashed leaves behind: an upload with its first parts."""
    from aistudios_export.delivery.checksums import part_crc32c

    upload_id = s3.create_multipart_upload(
        Bucket=BUCKET, Key="k.mp4", ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    for number in range(1, parts + 1):
        data = body[(number - 1) * MIN_PART_SIZE : number * MIN_PART_SIZE]
        s3.upload_part(
            Bucket=BUCKET,
            Key="k.mp4",
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="CRC32C",
            ChecksumCRC32C=part_crc32c(data),
        )
    return str(upload_id)


def test_a_crashed_attempts_upload_is_resumed_and_only_the_missing_parts_are_fetched(s3: Any) -> None:
    body = mp4(4 * MIN_PART_SIZE - 100)
    result, origin, started, _ = resume_delivery(s3, body, _half_done_upload(s3, body, parts=2))

    assert s3.get_object(Bucket=BUCKET, Key="k.mp4")["Body"].read() == body
    assert result.sha256 == hashlib.sha256(body).hexdigest()
    assert result.fetched == len(body) - 2 * MIN_PART_SIZE == origin.sent  # parts 3 and 4 only
    assert sorted(origin.ranges[1:]) == [
        f"bytes={2 * MIN_PART_SIZE}-{3 * MIN_PART_SIZE - 1}",
        f"bytes={3 * MIN_PART_SIZE}-{len(body) - 1}",
    ]
    assert started == []  # no new upload was needed
    assert no_uploads_left(s3)


def resume_delivery(
    s3: Any, body: bytes, upload_id: str, part_size: int = MIN_PART_SIZE, export_id: str | None = None
) -> tuple[Any, Ranged, list[str], list[dict[str, Any]]]:
    """Delivers `body` given `upload_id` as an earlier attempt's upload (the tests' S3 is the local
    stack's, which verifies checksums and lists them as S3 does: tests/conftest.py). Returns the
    result, the source, the uploads started, and the CompleteMultipartUpload requests' parameters."""
    completions: list[dict[str, Any]] = []
    s3.meta.events.register(
        "provide-client-params.s3.CompleteMultipartUpload",
        lambda params, **_: completions.append(dict(params)),
    )
    origin = Ranged(body)
    session, _ = serving(origin)
    started: list[str] = []
    result = VideoDelivery(s3, session, part_size=part_size, workers=2).deliver(
        f"{ORIGIN}/v.mp4",
        bucket=BUCKET,
        key="k.mp4",
        metadata={"export-id": export_id} if export_id else {},
        resume_upload_id=upload_id,
        on_upload=started.append,
    )
    return result, origin, started, completions


def test_a_resumed_upload_completes_with_the_full_object_crc32c_the_local_s3_verifies(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listed parts' CRC32Cs and the new parts' combine into the full-object one, which S3
    verifies: on the local stack too, whose ListParts lists the parts' checksums as S3 does."""
    import base64

    import crc32c

    from aistudios_export.delivery import multipart as s3_upload

    body = mp4(4 * MIN_PART_SIZE - 100)
    whole = base64.b64encode(crc32c.crc32c(body).to_bytes(4, "big")).decode()

    result, _, _, [completion] = resume_delivery(s3, body, _half_done_upload(s3, body, parts=2))

    assert completion["ChecksumType"] == "FULL_OBJECT"
    assert completion["ChecksumCRC32C"] == whole  # combined, parts 1-2 from ListParts
    assert [bool(p.get("ChecksumCRC32C")) for p in completion["MultipartUpload"]["Parts"]] == [True] * 4
    head = s3.head_object(Bucket=BUCKET, Key="k.mp4", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32C"], head["ChecksumType"]) == (whole, "FULL_OBJECT")
    assert result.crc32c == whole
    assert s3.get_object(Bucket=BUCKET, Key="k.mp4")["Body"].read() == body

    # were the listed and new parts' CRC32Cs combined wrongly, S3 would refuse: so does this one
    s3.delete_object(Bucket=BUCKET, Key="k.mp4")
    monkeypatch.setattr(s3_upload, "crc32c_combine", lambda crc1, crc2, length2: crc1 ^ crc2)
    with pytest.raises(ClientError) as refused:
        resume_delivery(s3, body, _half_done_upload(s3, body, parts=2))
    assert refused.value.response["Error"]["Code"] == "BadDigest"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="k.mp4")
    assert no_uploads_left(s3)  # the delivery aborted it


def test_a_resumed_delivery_overlapped_by_an_attempt_that_completed_first_takes_its_object(
    s3: Any,
) -> None:
    body = mp4(4 * MIN_PART_SIZE - 100)

    def first_attempt_completes(**_: Any) -> None:
        s3.meta.events.unregister("before-call.s3.CompleteMultipartUpload", first_attempt_completes)
        s3.put_object(Bucket=BUCKET, Key="k.mp4", Body=body, Metadata={"export-id": "e"})

    s3.meta.events.register("before-call.s3.CompleteMultipartUpload", first_attempt_completes)
    result, _, _, _ = resume_delivery(s3, body, _half_done_upload(s3, body, parts=2), export_id="e")

    assert result.sha256 == hashlib.sha256(body).hexdigest()
    assert no_uploads_left(s3)


def test_an_upload_cut_differently_is_not_resumed(s3: Any) -> None:
    body = mp4(4 * MIN_PART_SIZE)
    upload_id = _half_done_upload(s3, body, parts=2)

    result, _, started, _ = resume_delivery(s3, body, upload_id, part_size=2 * MIN_PART_SIZE)  # another plan

    assert s3.get_object(Bucket=BUCKET, Key="k.mp4")["Body"].read() == body
    assert result.sha256 == hashlib.sha256(body).hexdigest()
    assert len(started) == 1  # a fresh upload, whose id the record learns
    assert no_uploads_left(s3)  # the one cut differently is aborted: nothing would ever complete it


def test_an_upload_created_with_another_checksum_is_not_resumed(s3: Any) -> None:
    """Say an older version's upload, with SHA-256 per part (COMPOSITE): its parts fit the plan,
    but a FULL_OBJECT CRC32C completion of it would be refused, so a fresh upload is made."""
    import base64

    body = mp4(4 * MIN_PART_SIZE)
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="k.mp4", ChecksumAlgorithm="SHA256")["UploadId"]
    for number in (1, 2):
        data = body[(number - 1) * MIN_PART_SIZE : number * MIN_PART_SIZE]
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        s3.upload_part(
            Bucket=BUCKET,
            Key="k.mp4",
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumSHA256=digest,
        )
    result, _, started, _ = resume_delivery(s3, body, upload_id)

    assert s3.get_object(Bucket=BUCKET, Key="k.mp4")["Body"].read() == body
    assert result.sha256 == hashlib.sha256(body).hexdigest()
    assert len(started) == 1  # a fresh upload, not a refused completion
    assert started[0] != upload_id
    assert result.fetched == len(body)  # every part fetched anew
    assert no_uploads_left(s3)  # the old one aborted


def test_a_thumbnail_is_copied_under_the_same_url_policy_and_its_failure_is_ignored(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aistudios_export.delivery import thumbnails

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 50
    origin = Origin(lambda r: (200, {"Content-Type": "image/png"}, png))

    def session_with_origin() -> tuple[requests.Session, Any]:
        from aistudios_export.net.pinned import PinnedAdapter

        session = requests.Session()
        session.mount("https://", origin)
        return session, PinnedAdapter()

    monkeypatch.setattr(thumbnails, "pinned_session", session_with_origin)

    key = thumbnails.copy_thumbnail(s3, f"{ORIGIN}/t.png", bucket=BUCKET, key_stem="exports/p/e")
    assert key == "exports/p/e.png"
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == png

    # a private address, an HTML page and a missing bucket are each logged and forgotten
    assert thumbnails.copy_thumbnail(s3, "https://169.254.169.254/t.png", bucket=BUCKET, key_stem="x") is None
    origin.handler = lambda r: (200, {"Content-Type": "text/html"}, b"<html>")
    assert thumbnails.copy_thumbnail(s3, f"{ORIGIN}/t.png", bucket=BUCKET, key_stem="y") is None
    origin.handler = lambda r: (200, {"Content-Type": "image/png"}, png)
    assert thumbnails.copy_thumbnail(s3, f"{ORIGIN}/t.png", bucket="missing-bucket", key_stem="z") is None
    assert len(origin.requests) == 3  # the private address was never fetched


def test_a_copy_cancelled_half_way_stores_nothing_and_leaves_no_upload(s3: Any) -> None:
    body = mp4(4 * MIN_PART_SIZE)
    session, _ = serving(Ranged(body))
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 2  # cancelled after two parts

    with pytest.raises(PermanentUpstreamError) as caught:
        VideoDelivery(s3, session, part_size=MIN_PART_SIZE, workers=2).deliver(
            f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={}, cancelled=cancelled
        )

    assert caught.value.code == "ExportCancelled"
    assert no_uploads_left(s3)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_a_video_too_large_for_the_functions_memory_is_refused_before_any_range(s3: Any) -> None:
    """5 TiB advertised: parts of 525 MiB (S3's 10,000-part limit), two of which do not fit in 1 GiB."""
    from aistudios_export.delivery.memory import MIB

    huge = 5 * 1024 * 1024 * MIB

    def source(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Length": str(huge), "Accept-Ranges": "bytes", "Content-Type": "video/mp4"}, b""

    session, origin = serving(source)
    delivery = VideoDelivery(s3, session, part_size=8 * MIB, workers=8, memory=1024 * MIB, max_bytes=huge)
    with pytest.raises(PermanentUpstreamError) as refused:
        delivery.deliver(f"{ORIGIN}/v.mp4", bucket=BUCKET, key="huge.mp4", metadata={"export-id": "e"})

    assert refused.value.code == "VideoTooLarge"
    assert "memory" in refused.value.message
    assert len(origin.requests) == 1  # the opening GET only: no range fetched
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


# -- bounded videos (MaxVideoBytes) and the MP4 check ------------------------------------------------


class Trickle(io.RawIOBase):
    """A body that arrives `step` bytes per read, as a slow or chunked source sends it; `endless`
    repeats it for ever, up to `guard` bytes (past which the test has failed: the copy never stopped)."""

    def __init__(self, body: bytes, step: int = 1, endless: bool = False, guard: int = 0) -> None:
        self.body, self.step, self.endless, self.guard = body, step, endless, guard
        self.sent = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.endless and self.sent >= self.guard:
            raise AssertionError(f"read {self.sent} bytes of an endless body: nothing cut it")
        position = self.sent % len(self.body) if self.endless else self.sent
        data = self.body[position : position + min(self.step, len(buffer))]
        buffer[: len(data)] = data
        self.sent += len(data)
        return len(data)


def stream_of(raw: io.RawIOBase, **headers: str) -> Handler:
    """A source answering with `raw` as its body, with no Content-Length unless given."""
    return lambda request: (200, {"Content-Type": "video/mp4", **headers}, raw)


@pytest.mark.parametrize("ranged", [False, True])
def test_a_video_announced_over_the_limit_is_refused_before_any_byte(s3: Any, ranged: bool) -> None:
    limit = 3 * MIN_PART_SIZE
    body = mp4(limit + 1)
    source = Trickle(body, step=64 * 1024)
    headers = {"Content-Length": str(len(body)), **({"Accept-Ranges": "bytes"} if ranged else {})}
    session, adapter = serving(stream_of(source, **headers))

    with pytest.raises(PermanentUpstreamError) as refused:
        VideoDelivery(s3, session, part_size=MIN_PART_SIZE, workers=4, max_bytes=limit).deliver(
            f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={}
        )

    assert refused.value.code == "VideoTooLarge"
    assert f"the source announces {limit + 1} bytes, over the {limit}-byte limit (MaxVideoBytes)" in str(
        refused.value
    )
    assert len(adapter.requests) == 1  # the opening GET, whose body is never read
    assert source.sent == 0
    assert no_uploads_left(s3)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_a_video_at_the_limit_is_delivered(s3: Any) -> None:
    body = mp4(2 * MIN_PART_SIZE + 5)
    session, _ = serving(Ranged(body))
    result = VideoDelivery(s3, session, part_size=MIN_PART_SIZE, workers=2, max_bytes=len(body)).deliver(
        f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={}
    )
    assert result.size == len(body)
    assert s3.get_object(Bucket=BUCKET, Key="k.mp4")["Body"].read() == body


def test_a_stream_without_a_length_is_cut_at_the_limit(s3: Any) -> None:
    """The single-stream path (no Content-Length): it would otherwise stream without end."""
    limit = 2 * MIN_PART_SIZE
    body = Trickle(mp4(1 << 20), step=64 * 1024, endless=True, guard=4 * limit)
    session, _ = serving(stream_of(body))

    with pytest.raises(PermanentUpstreamError) as refused:
        VideoDelivery(s3, session, part_size=MIN_PART_SIZE, max_bytes=limit).deliver(
            f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={}
        )

    assert refused.value.code == "VideoTooLarge"
    assert f"the download passed {limit} bytes" in refused.value.message
    assert body.sent <= limit + 1024 * 1024  # cut within one read of the limit
    assert no_uploads_left(s3)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


@pytest.mark.parametrize(
    ("total", "code"), [(5 * 1024**4, "VideoTooLarge"), (3 * MIN_PART_SIZE + 1, "SizeMismatch")]
)
def test_a_range_whose_content_range_total_differs_is_refused_before_its_body(
    s3: Any, total: int, code: str
) -> None:
    """The opening GET announced a size within the limit; a range's Content-Range then says the
    video is larger (5 TiB: over the limit) or merely other than planned."""
    body = mp4(3 * MIN_PART_SIZE)

    def lying(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        status, headers, data = Ranged(body)(request)
        if "Content-Range" in headers:
            headers["Content-Range"] = headers["Content-Range"].rsplit("/", 1)[0] + f"/{total}"
        return status, headers, data

    session, _ = serving(lying)
    with pytest.raises((PermanentUpstreamError, DeliveryVerificationError)) as refused:
        VideoDelivery(s3, session, part_size=MIN_PART_SIZE, workers=2, max_bytes=4 * MIN_PART_SIZE).deliver(
            f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={}
        )

    assert getattr(refused.value, "code", None) == code
    assert no_uploads_left(s3)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


@pytest.mark.parametrize("advertised", [3 * MIN_PART_SIZE + 1, 11 * 1024**3, 5 * 1024**4, 2**62], ids=str)
def test_no_part_buffer_is_taken_for_a_video_over_the_limit_at_any_advertised_length(
    s3: Any, monkeypatch: pytest.MonkeyPatch, advertised: int
) -> None:
    """The issue's case among them: 5 TiB advertised chose 525 MiB parts and began fetching."""
    from aistudios_export.delivery import engine

    taken: list[int] = []

    class Watched(engine.PartBuffers):
        def take(self, size: int) -> bytearray:
            taken.append(size)
            return super().take(size)

    monkeypatch.setattr(engine, "PartBuffers", Watched)
    headers = {"Content-Length": str(advertised), "Accept-Ranges": "bytes", "Content-Type": "video/mp4"}
    session, origin = serving(lambda r: (200, headers, b""))

    with pytest.raises(PermanentUpstreamError) as refused:
        VideoDelivery(
            s3, session, part_size=8 * 1024 * 1024, workers=8, memory=1024 * 1024 * 1024,
            max_bytes=3 * MIN_PART_SIZE,
        ).deliver(f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={})  # fmt: skip

    assert refused.value.code == "VideoTooLarge"
    assert "MaxVideoBytes" in refused.value.message
    assert (len(origin.requests), taken) == (1, [])
    assert no_uploads_left(s3)


def test_part_buffers_held_at_once_stay_within_the_memory_the_plan_allows(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory room for two workers (8 asked for): the part buffers held at once, measured, never
    pass what the plan allows (memory.py), and each is taken only with a fetch slot."""
    from aistudios_export.delivery import engine
    from aistudios_export.delivery.memory import BASE_MEMORY, planned_memory

    held, peak = [0], [0]

    class Measured(engine.PartBuffers):
        def take(self, size: int) -> bytearray:
            held[0] += size
            peak[0] = max(peak[0], held[0])
            return super().take(size)

        def give(self, buffer: bytearray) -> None:
            held[0] -= len(buffer)
            super().give(buffer)

    monkeypatch.setattr(engine, "PartBuffers", Measured)
    memory = planned_memory(2, MIN_PART_SIZE)
    body = mp4(9 * MIN_PART_SIZE + 7)
    session, _ = serving(Ranged(body))

    result = VideoDelivery(s3, session, part_size=MIN_PART_SIZE, workers=8, memory=memory).deliver(
        f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={}
    )

    assert result.sha256 == hashlib.sha256(body).hexdigest()
    assert 0 < peak[0] <= memory - BASE_MEMORY == 2 * 2 * MIN_PART_SIZE


@pytest.mark.parametrize("step", [1, 3, 7])
def test_the_mp4_check_reads_the_first_eight_bytes_however_they_are_chunked(s3: Any, step: int) -> None:
    """A first chunk under 8 bytes bypassed the check on the single-stream path."""
    page = b"<html><body>Your session has expired</body></html>" * 40
    session, _ = serving(stream_of(Trickle(page, step=step)))

    with pytest.raises(PermanentUpstreamError) as refused:
        VideoDelivery(s3, session).deliver(f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={})

    assert refused.value.code == "NotAVideo"
    assert no_uploads_left(s3)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)

    video = mp4(3000)
    session, _ = serving(stream_of(Trickle(video, step=step)))
    result = VideoDelivery(s3, session).deliver(f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={})
    assert s3.get_object(Bucket=BUCKET, Key="k.mp4")["Body"].read() == video
    assert result.size == len(video)


@pytest.mark.parametrize("body", [b"\x00", b"\x00\x00\x00\x18ftyp"[:7]])
def test_a_body_shorter_than_an_mp4_box_header_is_not_a_video(s3: Any, body: bytes) -> None:
    session, _ = serving(stream_of(Trickle(body)))
    with pytest.raises(PermanentUpstreamError) as refused:
        VideoDelivery(s3, session).deliver(f"{ORIGIN}/v.mp4", bucket=BUCKET, key="k.mp4", metadata={})
    assert refused.value.code == "NotAVideo"
    assert no_uploads_left(s3)
