"""The local stack's S3 (local/stack/moto_patches/): moto's CompleteMultipartUpload, streamed, and
the checksums clients send verified as S3 verifies them.

The object is assembled once, into the file the key keeps, with moto's own checks, ETag and
checksums; these tests hold it to moto's results and to S3's semantics (If-None-Match, abort,
BadDigest and InvalidPart for checksums that do not match, as S3 answers them)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import random
import tracemalloc
from collections.abc import Iterator
from typing import Any

import boto3
import crc32c
import pytest
import requests
from botocore import httpchecksum
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import MultipartChecksumBuilder, s3_backends
from requests.adapters import BaseAdapter

from local.stack.moto_patches import s3_patches

pytestmark = pytest.mark.unit
MIB = 1024 * 1024
BUCKET = "videos"


@pytest.fixture
def s3() -> Iterator[Any]:
    s3_patches()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def parts_of(sizes: list[int], seed: int = 9) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(size) for size in sizes]


def upload(s3: Any, key: str, parts: list[bytes], **create: Any) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key, **create)["UploadId"]
    algorithm = {"ChecksumAlgorithm": create["ChecksumAlgorithm"]} if "ChecksumAlgorithm" in create else {}
    listed = []
    for number, data in enumerate(parts, start=1):
        if create.get("ChecksumAlgorithm") == "CRC32C":  # botocore computes CRC32C only with awscrt
            algorithm["ChecksumCRC32C"] = crc32c_b64(data)
        answer = s3.upload_part(
            Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number, Body=data, **algorithm
        )
        listed.append({"PartNumber": number, "ETag": answer["ETag"]})
    return upload_id, listed


def crc32c_b64(data: bytes) -> str:
    return base64.b64encode(crc32c.crc32c(data).to_bytes(4, "big")).decode()


def complete(s3: Any, key: str, upload_id: str, listed: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = s3.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}, **extra
    )
    return answer


def stored(key: str) -> Any:
    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_object(BUCKET, key)


def multipart_etag(parts: list[bytes]) -> str:
    md5s = b"".join(hashlib.md5(p, usedforsecurity=False).digest() for p in parts)
    return f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(parts)}"'


def body_of(s3: Any, key: str, **extra: Any) -> bytes:
    data: bytes = s3.get_object(Bucket=BUCKET, Key=key, **extra)["Body"].read()
    return data


SIZES = [5 * MIB, 5 * MIB + 3, 2 * MIB + 777]  # the last part short


def test_full_object_crc32c_object_etag_and_checksum_are_s3s(s3: Any) -> None:
    parts = parts_of(SIZES)
    whole = b"".join(parts)
    upload_id, listed = upload(
        s3, "a.mp4", parts, ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT", ContentType="video/mp4"
    )
    answer = complete(s3, "a.mp4", upload_id, listed, ChecksumType="FULL_OBJECT", IfNoneMatch="*")

    assert answer["ETag"] == multipart_etag(parts)
    assert body_of(s3, "a.mp4") == whole
    assert body_of(s3, "a.mp4", Range="bytes=5242878-5242882") == whole[5242878:5242883]
    head = s3.head_object(Bucket=BUCKET, Key="a.mp4", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(whole)
    assert head["ETag"] == multipart_etag(parts)
    assert head["ContentType"] == "video/mp4"
    assert head["ChecksumCRC32C"] == crc32c_b64(whole)
    assert head["ChecksumType"] == "FULL_OBJECT"
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


@pytest.mark.parametrize(
    "create",
    [
        {"ChecksumAlgorithm": "CRC32C", "ChecksumType": "FULL_OBJECT"},
        {"ChecksumAlgorithm": "CRC32", "ChecksumType": "FULL_OBJECT"},
        {"ChecksumAlgorithm": "CRC32C"},  # COMPOSITE, moto's default for CRC32C
        {"ChecksumAlgorithm": "SHA256"},
        {"ChecksumAlgorithm": "SHA1"},
        {},  # CRC64NVME, FULL_OBJECT (moto's default; CRC32 where awscrt is absent)
    ],
    ids=["crc32c-full", "crc32-full", "crc32c-composite", "sha256", "sha1", "default"],
)
def test_checksum_is_the_one_moto_computes(s3: Any, create: dict[str, str]) -> None:
    parts = parts_of(SIZES, seed=len(create))
    upload_id, listed = upload(s3, "b.mp4", parts, **create)
    complete(s3, "b.mp4", upload_id, listed)

    builder = MultipartChecksumBuilder(create.get("ChecksumAlgorithm"), create.get("ChecksumType"))
    for data in parts:
        builder.addPart(data)
    key = stored("b.mp4")
    assert (key.checksum_type, key.checksum_value, key.checksum_parts) == builder.build()
    assert key.etag == multipart_etag(parts)
    assert key.value == b"".join(parts)


def test_completion_streams_the_parts_instead_of_copying_the_object_in_memory(s3: Any) -> None:
    parts = parts_of([5 * MIB] * 8 + [MIB])  # 41 MiB
    upload_id, listed = upload(s3, "big.mp4", parts, ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT")
    with_checksums = [dict(p, ChecksumCRC32C=crc32c_b64(data)) for p, data in zip(listed, parts, strict=True)]
    whole = crc32c_b64(b"".join(parts))
    tracemalloc.start()
    try:  # the part and full-object checksums verified on the way
        complete(s3, "big.mp4", upload_id, with_checksums, ChecksumType="FULL_OBJECT", ChecksumCRC32C=whole)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # moto alone holds the object over four times (~170 MiB here); streamed, about one 1 MiB buffer
    assert peak < 8 * MIB, f"completion allocated {peak / MIB:.0f} MiB for a 41 MiB object"
    assert stored("big.mp4").value == b"".join(parts)


def test_if_none_match_refuses_to_replace_an_object(s3: Any) -> None:
    first, second = parts_of([5 * MIB, 10], seed=1), parts_of([5 * MIB, 20], seed=2)
    complete(s3, "c.mp4", *upload(s3, "c.mp4", first), IfNoneMatch="*")
    upload_id, listed = upload(s3, "c.mp4", second)
    with pytest.raises(ClientError) as refused:
        complete(s3, "c.mp4", upload_id, listed, IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert body_of(s3, "c.mp4") == b"".join(first)


def test_a_wrong_or_small_part_fails_completion_and_leaves_no_object(s3: Any) -> None:
    parts = parts_of([5 * MIB, 5 * MIB, 10])
    upload_id, listed = upload(s3, "d.mp4", parts)
    wrong = [listed[0], {"PartNumber": 2, "ETag": listed[0]["ETag"]}, listed[2]]
    with pytest.raises(ClientError) as invalid:
        complete(s3, "d.mp4", upload_id, wrong)
    assert invalid.value.response["Error"]["Code"] == "InvalidPart"

    small_id, small = upload(s3, "e.mp4", parts_of([MIB, 10]))
    with pytest.raises(ClientError) as too_small:
        complete(s3, "e.mp4", small_id, small)
    assert too_small.value.response["Error"]["Code"] == "EntityTooSmall"

    for key in ("d.mp4", "e.mp4"):
        with pytest.raises(ClientError):
            s3.head_object(Bucket=BUCKET, Key=key)
    # the uploads stay open, as on S3, and complete once the caller lists the right parts
    assert complete(s3, "d.mp4", upload_id, listed)["ETag"] == multipart_etag(parts)
    assert body_of(s3, "d.mp4") == b"".join(parts)


def test_abort_discards_the_upload(s3: Any) -> None:
    upload_id, listed = upload(s3, "f.mp4", parts_of([5 * MIB, 10]))
    s3.abort_multipart_upload(Bucket=BUCKET, Key="f.mp4", UploadId=upload_id)
    with pytest.raises(ClientError) as completed:  # a completion racing the abort: 404, not a 500
        complete(s3, "f.mp4", upload_id, listed)
    assert completed.value.response["Error"]["Code"] == "NoSuchUpload"
    assert completed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    with pytest.raises(ClientError) as gone:
        s3.list_parts(Bucket=BUCKET, Key="f.mp4", UploadId=upload_id)
    assert gone.value.response["Error"]["Code"] == "NoSuchUpload"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="f.mp4")


def test_an_upload_aborted_while_it_completes_is_no_such_upload(s3: Any) -> None:
    """The abort lands while the completion reads the parts (another request, another thread)."""
    from moto.s3.exceptions import NoSuchUpload

    upload_id, listed = upload(s3, "f.mp4", parts_of([5 * MIB, 10]))
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]

    def parts_then_abort() -> Iterator[tuple[int, str]]:
        for part in listed:
            yield part["PartNumber"], part["ETag"]
        del backend.get_bucket(BUCKET).multiparts[upload_id]  # what AbortMultipartUpload does

    with pytest.raises(NoSuchUpload):
        backend.complete_multipart_upload(BUCKET, upload_id, parts_then_abort())


# Checksums: S3 verifies every checksum a client sends (moto alone stores them unchecked).


def refusal(refused: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response: Any = refused.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def checksum_b64(algorithm: str, data: bytes) -> str:
    digest = {
        "CRC32C": lambda: crc32c.crc32c(data).to_bytes(4, "big"),
        "CRC32": lambda: binascii.crc32(data).to_bytes(4, "big"),
        "SHA1": lambda: hashlib.sha1(data, usedforsecurity=False).digest(),
        "SHA256": lambda: hashlib.sha256(data).digest(),
    }[algorithm]()
    return base64.b64encode(digest).decode()


def no_object(s3: Any, key: str) -> bool:
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=BUCKET, Key=key)
    return bool(missing.value.response["Error"]["Code"] in ("404", "NoSuchKey"))


def test_a_part_whose_crc32c_does_not_match_is_refused_with_bad_digest_and_not_stored(s3: Any) -> None:
    data = parts_of([5 * MIB])[0]
    upload_id = s3.create_multipart_upload(
        Bucket=BUCKET, Key="g.mp4", ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    part = {
        "Bucket": BUCKET,
        "Key": "g.mp4",
        "UploadId": upload_id,
        "PartNumber": 1,
        "ChecksumAlgorithm": "CRC32C",
    }

    with pytest.raises(ClientError) as refused:
        s3.upload_part(**part, Body=data, ChecksumCRC32C=crc32c_b64(data[1:]))
    assert refusal(refused) == (
        400,
        "BadDigest",
        "The CRC32C you specified did not match the calculated checksum.",
    )
    with pytest.raises(ClientError) as invalid:
        s3.upload_part(**part, Body=data, ChecksumCRC32C="not-a-crc")
    assert refusal(invalid) == (400, "InvalidRequest", "Value for x-amz-checksum-crc32c header is invalid.")
    assert s3.list_parts(Bucket=BUCKET, Key="g.mp4", UploadId=upload_id).get("Parts", []) == []

    # the right one is stored, as before
    assert s3.upload_part(**part, Body=data, ChecksumCRC32C=crc32c_b64(data))["ChecksumCRC32C"] == crc32c_b64(
        data
    )
    assert [p["Size"] for p in s3.list_parts(Bucket=BUCKET, Key="g.mp4", UploadId=upload_id)["Parts"]] == [
        5 * MIB
    ]


@pytest.mark.parametrize("algorithm", ["CRC32C", "CRC32", "SHA1", "SHA256"])
def test_put_object_with_a_checksum_that_does_not_match_is_refused_and_nothing_is_stored(
    s3: Any, algorithm: str
) -> None:
    data = b"a video" * 1000
    with pytest.raises(ClientError) as refused:
        s3.put_object(
            Bucket=BUCKET, Key="h.mp4", Body=data, **{f"Checksum{algorithm}": checksum_b64(algorithm, b"x")}
        )
    assert refusal(refused) == (
        400, "BadDigest", f"The {algorithm} you specified did not match the calculated checksum."
    )  # fmt: skip
    assert no_object(s3, "h.mp4")

    s3.put_object(
        Bucket=BUCKET, Key="h.mp4", Body=data, **{f"Checksum{algorithm}": checksum_b64(algorithm, data)}
    )
    assert body_of(s3, "h.mp4") == data


def test_a_wrong_checksum_in_the_aws_chunked_trailer_is_refused(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over https botocore sends the checksum it computes after the body (aws-chunked, a trailer)."""
    data = b"a video" * 1000
    s3.put_object(Bucket=BUCKET, Key="i.mp4", Body=data, ChecksumAlgorithm="SHA256")  # a right trailer
    assert body_of(s3, "i.mp4") == data

    monkeypatch.setattr(httpchecksum.Sha256Checksum, "digest", lambda self: hashlib.sha256(b"other").digest())
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=BUCKET, Key="j.mp4", Body=data, ChecksumAlgorithm="SHA256")
    assert refusal(refused)[:2] == (400, "BadDigest")
    assert no_object(s3, "j.mp4")


def test_a_wrong_full_object_crc32c_fails_completion_leaves_no_object_and_the_upload_open(s3: Any) -> None:
    parts = parts_of(SIZES, seed=3)
    whole = b"".join(parts)
    upload_id, listed = upload(s3, "k.mp4", parts, ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT")

    with pytest.raises(ClientError) as refused:
        complete(
            s3, "k.mp4", upload_id, listed, ChecksumType="FULL_OBJECT", ChecksumCRC32C=crc32c_b64(whole[1:])
        )
    assert refusal(refused) == (
        400,
        "BadDigest",
        "The crc32c you specified did not match the calculated checksum.",
    )
    # S3 also wants the type with the checksum, and the upload's algorithm and type
    for wrong in (
        {"ChecksumCRC32C": crc32c_b64(whole)},
        {"ChecksumType": "FULL_OBJECT", "ChecksumCRC32": checksum_b64("CRC32", whole)},
    ):
        with pytest.raises(ClientError) as refused:
            complete(s3, "k.mp4", upload_id, listed, **wrong)
        assert refusal(refused)[:2] == (400, "BadDigest")
    with pytest.raises(ClientError) as mode:
        complete(s3, "k.mp4", upload_id, listed, ChecksumType="COMPOSITE")
    assert refusal(mode) == (
        400, "InvalidRequest",
        "The upload was created using the FULL_OBJECT checksum mode. The complete request must use the same checksum mode.",
    )  # fmt: skip
    assert no_object(s3, "k.mp4")
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]] == [upload_id]

    answer = complete(
        s3, "k.mp4", upload_id, listed, ChecksumType="FULL_OBJECT", ChecksumCRC32C=crc32c_b64(whole)
    )
    assert answer["ETag"] == multipart_etag(parts)
    assert s3.head_object(Bucket=BUCKET, Key="k.mp4", ChecksumMode="ENABLED")["ChecksumCRC32C"] == crc32c_b64(
        whole
    )
    assert body_of(s3, "k.mp4") == whole


@pytest.mark.parametrize("sent", ["with its crc32c", "without a checksum"])
def test_a_part_listed_with_a_checksum_not_its_own_fails_completion_with_invalid_part(
    s3: Any, sent: str
) -> None:
    parts = parts_of(SIZES, seed=4)
    upload_id = s3.create_multipart_upload(
        Bucket=BUCKET, Key="l.mp4", ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    listed = []
    for number, data in enumerate(parts, start=1):
        checksum = {"ChecksumCRC32C": crc32c_b64(data)} if sent == "with its crc32c" else {}
        etag = s3.upload_part(
            Bucket=BUCKET, Key="l.mp4", UploadId=upload_id, PartNumber=number, Body=data, **checksum
        )["ETag"]
        listed.append({"PartNumber": number, "ETag": etag, "ChecksumCRC32C": crc32c_b64(data)})
    swapped = [listed[0], dict(listed[1], ChecksumCRC32C=listed[2]["ChecksumCRC32C"]), listed[2]]

    with pytest.raises(ClientError) as refused:
        complete(s3, "l.mp4", upload_id, swapped, ChecksumType="FULL_OBJECT")
    assert refusal(refused)[:2] == (400, "InvalidPart")
    assert no_object(s3, "l.mp4")

    complete(s3, "l.mp4", upload_id, listed, ChecksumType="FULL_OBJECT")
    assert body_of(s3, "l.mp4") == b"".join(parts)


def test_list_parts_lists_each_part_with_the_checksum_it_was_uploaded_with(s3: Any) -> None:
    """As S3: each Part with its checksum after Size, the upload's algorithm and type after
    StorageClass (moto lists neither: a resumed upload could not send its full-object checksum)."""
    parts = parts_of(SIZES, seed=5)
    upload_id, _ = upload(s3, "m.mp4", parts, ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT")
    raw: list[bytes] = []
    s3.meta.events.register(
        "after-call.s3.ListParts", lambda http_response, **_: raw.append(http_response.content)
    )

    listed = s3.list_parts(Bucket=BUCKET, Key="m.mp4", UploadId=upload_id)

    assert [(p["PartNumber"], p["Size"], p["ChecksumCRC32C"]) for p in listed["Parts"]] == [
        (number, len(data), crc32c_b64(data)) for number, data in enumerate(parts, start=1)
    ]
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("CRC32C", "FULL_OBJECT")
    xml = raw[0].decode()
    assert f"<Size>{SIZES[0]}</Size><ChecksumCRC32C>{crc32c_b64(parts[0])}</ChecksumCRC32C></Part>" in xml
    assert (
        "</StorageClass><ChecksumAlgorithm>CRC32C</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType>"
        in xml
    )
    # page by page, as a resume lists more than 1000 parts
    second = s3.list_parts(Bucket=BUCKET, Key="m.mp4", UploadId=upload_id, MaxParts=1, PartNumberMarker=1)
    assert [(p["PartNumber"], p["ChecksumCRC32C"]) for p in second["Parts"]] == [(2, crc32c_b64(parts[1]))]
    # the listed checksums complete the upload, with the full-object one combined from them
    whole = b"".join(parts)
    complete(
        s3, "m.mp4", upload_id,
        [{k: p[k] for k in ("PartNumber", "ETag", "ChecksumCRC32C")} for p in listed["Parts"]],
        ChecksumType="FULL_OBJECT", ChecksumCRC32C=crc32c_b64(whole),
    )  # fmt: skip
    assert body_of(s3, "m.mp4") == whole


@pytest.mark.parametrize(
    ("create", "algorithm", "kind"),
    [
        ({"ChecksumAlgorithm": "SHA256"}, "SHA256", "COMPOSITE"),  # S3's default type for SHA256
        ({}, None, None),  # an upload created without a checksum: none listed for it
    ],
)
def test_list_parts_gives_the_uploads_checksum_algorithm_and_type_only_when_it_has_one(
    s3: Any, create: dict[str, str], algorithm: str | None, kind: str | None
) -> None:
    data = parts_of([1000], seed=6)[0]
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="n.mp4", **create)["UploadId"]
    s3.upload_part(
        Bucket=BUCKET, Key="n.mp4", UploadId=upload_id, PartNumber=1, Body=data,
        **({"ChecksumSHA256": checksum_b64("SHA256", data)} if algorithm else {"ChecksumCRC32C": crc32c_b64(data)}),
    )  # fmt: skip

    listed = s3.list_parts(Bucket=BUCKET, Key="n.mp4", UploadId=upload_id)

    assert (listed.get("ChecksumAlgorithm"), listed.get("ChecksumType")) == (algorithm, kind)
    [part] = listed["Parts"]
    if algorithm:
        assert part["ChecksumSHA256"] == checksum_b64("SHA256", data)
    else:  # the checksum the part was sent with, whatever the upload's
        assert part["ChecksumCRC32C"] == crc32c_b64(data)


# Our delivery (shared/aistudios_export/delivery: engine.py, multipart.py, checksums.py) against the verifying S3.

ORIGIN = "https://93.184.216.34"  # a public literal address: validated without DNS


class RangedOrigin(BaseAdapter):
    """Serves `body` as a CDN does: whole, or the byte range asked."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = requests.Response()
        response.status_code, data = 200, self.body
        response.headers.update({"Content-Type": "video/mp4", "Accept-Ranges": "bytes"})
        if wanted := request.headers.get("Range"):
            first, last = (int(x) for x in wanted.removeprefix("bytes=").split("-"))
            response.status_code, data = 206, self.body[first : last + 1]
            response.headers["Content-Range"] = f"bytes {first}-{last}/{len(self.body)}"
        response.headers["Content-Length"] = str(len(data) if wanted else len(self.body))
        response.raw, response.url, response.request = io.BytesIO(data), str(request.url), request
        return response

    def close(self) -> None:
        pass


def deliver(s3: Any, body: bytes, key: str) -> Any:
    from aistudios_export.delivery.engine import MIN_PART_SIZE, VideoDelivery

    session = requests.Session()
    session.mount("https://", RangedOrigin(body))
    delivery = VideoDelivery(s3, session, part_size=MIN_PART_SIZE, workers=3)
    return delivery.deliver(f"{ORIGIN}/v.mp4", bucket=BUCKET, key=key, metadata={"export-id": key})


def video(size: int) -> bytes:
    head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    return head + parts_of([size - len(head)], seed=size)[0]


def test_our_delivery_passes_the_verifying_s3_and_a_wrong_full_object_crc32c_would_not(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aistudios_export.delivery import checksums

    body = video(2 * 5 * MIB + 4321)
    result = deliver(s3, body, "ours.mp4")  # per-part CRC32Cs, and the full-object one combined from them
    assert result.crc32c == crc32c_b64(body)
    assert body_of(s3, "ours.mp4") == body
    assert s3.head_object(Bucket=BUCKET, Key="ours.mp4", ChecksumMode="ENABLED")[
        "ChecksumCRC32C"
    ] == crc32c_b64(body)

    # were the parts' CRC32Cs combined wrongly, S3 would refuse the completion: so does this one
    monkeypatch.setattr(checksums, "crc32c_combine", lambda crc1, crc2, length2: crc1 ^ crc2)
    with pytest.raises(ClientError) as refused:
        deliver(s3, body, "bug.mp4")
    assert refusal(refused)[:2] == (400, "BadDigest")
    assert no_object(s3, "bug.mp4")
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []  # aborted by the delivery


def test_a_part_our_delivery_sent_with_a_wrong_crc32c_would_be_refused(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aistudios_export.delivery import multipart

    class WrongCrc32c:
        @staticmethod
        def crc32c(data: Any, crc: int = 0) -> int:
            return crc32c.crc32c(data, crc) ^ 1

    monkeypatch.setattr(multipart, "crc32c", WrongCrc32c)
    with pytest.raises(ClientError) as refused:
        deliver(s3, video(2 * 5 * MIB), "part-bug.mp4")
    assert refusal(refused) == (
        400,
        "BadDigest",
        "The CRC32C you specified did not match the calculated checksum.",
    )
    assert no_object(s3, "part-bug.mp4")
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
