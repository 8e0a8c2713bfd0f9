"""The local stack's S3 (local/stack/moto_server.py): moto's CompleteMultipartUpload, streamed.

The object is assembled once, into the file the key keeps, with moto's own checks, ETag and
checksums; these tests hold it to moto's results and to S3's semantics (If-None-Match, abort)."""

from __future__ import annotations

import base64
import hashlib
import random
import tracemalloc
from collections.abc import Iterator
from typing import Any

import boto3
import crc32c
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import MultipartChecksumBuilder, s3_backends

from local.stack.moto_server import s3_patches

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
    tracemalloc.start()
    try:
        complete(s3, "big.mp4", upload_id, listed)
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
    upload_id, _ = upload(s3, "f.mp4", parts_of([5 * MIB, 10]))
    s3.abort_multipart_upload(Bucket=BUCKET, Key="f.mp4", UploadId=upload_id)
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    with pytest.raises(ClientError) as gone:
        s3.list_parts(Bucket=BUCKET, Key="f.mp4", UploadId=upload_id)
    assert gone.value.response["Error"]["Code"] == "NoSuchUpload"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="f.mp4")
