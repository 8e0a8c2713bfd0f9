"""`python -m local.stack.s3_server`: the local stack's S3 as a server of its own (what the delivery
benchmark runs), multipart uploads completed over HTTP as S3 does, their checksums verified."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import crc32c
import pytest
import requests
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(REPO / "shared"), str(REPO)])}
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "local.stack.s3_server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "the server exited at start"
            try:
                requests.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "the server did not start within 30 s"
                time.sleep(0.1)
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # moto accepts any
        )
        client.create_bucket(Bucket="videos")
        yield client
    finally:
        server.terminate()
        server.wait(timeout=10)


def b64_crc32c(data: bytes) -> str:
    return base64.b64encode(crc32c.crc32c(data).to_bytes(4, "big")).decode()


def test_a_completed_multipart_object_is_whole_with_s3s_etag_and_checksum(s3: Any) -> None:
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(1234)]
    whole = b"".join(parts)
    upload_id = s3.create_multipart_upload(
        Bucket="videos", Key="v.mp4", ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    listed = []
    for number, data in enumerate(parts, start=1):
        etag = s3.upload_part(
            Bucket="videos", Key="v.mp4", UploadId=upload_id, PartNumber=number, Body=data,
            ChecksumAlgorithm="CRC32C", ChecksumCRC32C=b64_crc32c(data),
        )["ETag"]  # fmt: skip
        listed.append({"PartNumber": number, "ETag": etag})
    completed = s3.complete_multipart_upload(
        Bucket="videos", Key="v.mp4", UploadId=upload_id, MultipartUpload={"Parts": listed},
        ChecksumType="FULL_OBJECT", ChecksumCRC32C=b64_crc32c(whole), IfNoneMatch="*",
    )  # fmt: skip

    md5s = b"".join(hashlib.md5(p, usedforsecurity=False).digest() for p in parts)
    assert completed["ETag"] == f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-3"'
    head = s3.head_object(Bucket="videos", Key="v.mp4", ChecksumMode="ENABLED")
    assert (head["ContentLength"], head["ETag"]) == (len(whole), completed["ETag"])
    assert head["ChecksumCRC32C"] == b64_crc32c(whole)
    assert s3.get_object(Bucket="videos", Key="v.mp4")["Body"].read() == whole

    again = s3.create_multipart_upload(Bucket="videos", Key="v.mp4")["UploadId"]
    etag = s3.upload_part(Bucket="videos", Key="v.mp4", UploadId=again, PartNumber=1, Body=b"x")["ETag"]
    with pytest.raises(ClientError) as refused:
        s3.complete_multipart_upload(
            Bucket="videos", Key="v.mp4", UploadId=again,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}, IfNoneMatch="*",
        )  # fmt: skip
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    s3.abort_multipart_upload(Bucket="videos", Key="v.mp4", UploadId=again)
    assert s3.list_multipart_uploads(Bucket="videos").get("Uploads", []) == []
    assert s3.get_object(Bucket="videos", Key="v.mp4")["Body"].read() == whole


def test_a_part_whose_crc32c_does_not_match_is_refused_over_http(s3: Any) -> None:
    data = os.urandom(5 * MIB)
    upload_id = s3.create_multipart_upload(
        Bucket="videos", Key="w.mp4", ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    part = {"Bucket": "videos", "Key": "w.mp4", "UploadId": upload_id, "PartNumber": 1, "Body": data}
    with pytest.raises(ClientError) as refused:
        s3.upload_part(**part, ChecksumAlgorithm="CRC32C", ChecksumCRC32C=b64_crc32c(data[1:]))
    error: Any = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"] == {
        "Code": "BadDigest",
        "Message": "The CRC32C you specified did not match the calculated checksum.",
    }
    assert s3.list_parts(Bucket="videos", Key="w.mp4", UploadId=upload_id).get("Parts", []) == []

    etag = s3.upload_part(**part, ChecksumAlgorithm="CRC32C", ChecksumCRC32C=b64_crc32c(data))["ETag"]
    listed = {"Parts": [{"PartNumber": 1, "ETag": etag, "ChecksumCRC32C": b64_crc32c(data)}]}
    with pytest.raises(ClientError) as wrong_whole:
        s3.complete_multipart_upload(
            Bucket="videos", Key="w.mp4", UploadId=upload_id, MultipartUpload=listed,
            ChecksumType="FULL_OBJECT", ChecksumCRC32C=b64_crc32c(data[1:]),
        )  # fmt: skip
    assert wrong_whole.value.response["Error"]["Code"] == "BadDigest"
    s3.complete_multipart_upload(
        Bucket="videos", Key="w.mp4", UploadId=upload_id, MultipartUpload=listed,
        ChecksumType="FULL_OBJECT", ChecksumCRC32C=b64_crc32c(data),
    )  # fmt: skip
    assert s3.get_object(Bucket="videos", Key="w.mp4")["Body"].read() == data


def test_list_parts_lists_the_parts_checksums_over_http(s3: Any) -> None:
    """What a resumed delivery reads to combine the full-object checksum without refetching."""
    parts = [os.urandom(5 * MIB), os.urandom(4321)]
    upload_id = s3.create_multipart_upload(
        Bucket="videos", Key="r.mp4", ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    for number, data in enumerate(parts, start=1):
        s3.upload_part(
            Bucket="videos", Key="r.mp4", UploadId=upload_id, PartNumber=number, Body=data,
            ChecksumAlgorithm="CRC32C", ChecksumCRC32C=b64_crc32c(data),
        )  # fmt: skip

    listed = s3.list_parts(Bucket="videos", Key="r.mp4", UploadId=upload_id)

    assert [p["ChecksumCRC32C"] for p in listed["Parts"]] == [b64_crc32c(p) for p in parts]
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("CRC32C", "FULL_OBJECT")
    s3.abort_multipart_upload(Bucket="videos", Key="r.mp4", UploadId=upload_id)
