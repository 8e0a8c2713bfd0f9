"""The request files and their results, in the stack's bucket: a request file is read once, at most
MAX_FILE_BYTES of it, and its result goes under results/ (never under requests/, where it would
trigger a request of its own)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from botocore.exceptions import ClientError

from ..clock import iso, utcnow
from .errors import error_code

REQUESTS_PREFIX = "requests/"
RESULTS_PREFIX = "results/"
MAX_FILE_BYTES = 256 * 1024
RESULT_SUFFIX = ".result.json"
MAX_KEY_BYTES = 1024  # S3's limit on a key


def result_key(key: str) -> str:
    """Where a request file's result goes: under results/, so it can never trigger a request. A name
    too long for S3 once the suffix is added gets its SHA-256 instead (the result names the file)."""
    name = key.removeprefix(REQUESTS_PREFIX)
    if len(f"{RESULTS_PREFIX}{name}{RESULT_SUFFIX}".encode()) > MAX_KEY_BYTES:
        name = hashlib.sha256(key.encode()).hexdigest()
    return RESULTS_PREFIX + name + RESULT_SUFFIX


class RequestFileGone(Exception):
    """The file was deleted before it was read: there is nothing to answer."""


class RequestFiles:
    """The request files and their results, in the stack's bucket."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    def read(self, key: str) -> bytes:
        """The file's first MAX_FILE_BYTES + 1 bytes (enough to tell that it is too large)."""
        try:
            obj = self._s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{MAX_FILE_BYTES}")
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                raise RequestFileGone(key) from None
            if error_code(exc) == "InvalidRange":  # S3's answer to any range of an empty object
                return b""
            raise
        data: bytes = obj["Body"].read(MAX_FILE_BYTES + 1)
        return data

    def write_result(self, key: str, result: dict[str, Any]) -> None:
        self._s3.put_object(
            Bucket=self.bucket,
            Key=result_key(key),
            Body=json.dumps({"processedAt": iso(utcnow()), **result}, indent=2).encode(),
            ContentType="application/json",
        )
