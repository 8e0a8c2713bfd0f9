"""What the S3 patches share: S3's checksum algorithms, computed as moto computes them, over a body
given in pieces, and S3's errors. Not a patch itself."""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib
from collections.abc import Callable
from typing import Any

# the algorithms S3 accepts, with their digests' sizes in bytes
CHECKSUMS = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


class RunningChecksum:
    """moto's `compute_checksum(body, algorithm)` computed over a body given in pieces (the same
    libraries and fallbacks: crc32c, else CRC32; awscrt's CRC64NVME, else CRC32; SHA1; else SHA256)."""

    def __init__(self, algorithm: str) -> None:
        from moto.core.compat import HAS_CRT

        self._crc = 0
        self._hash: Any = None
        self._update: Callable[[Any, int], int] | None = None
        self._width = 4
        self.exact = True  # False where moto's fallback computes another function than `algorithm`
        if algorithm == "SHA1":
            self._hash = hashlib.sha1(usedforsecurity=False)
        elif algorithm == "CRC32C":
            try:
                import crc32c

                self._update = lambda data, crc: crc32c.crc32c(data, crc)
            except ImportError:
                self._update, self.exact = binascii.crc32, False
        elif algorithm == "CRC64NVME" and HAS_CRT:
            self._update, self._width = importlib.import_module("awscrt.checksums").crc64nvme, 8
        elif algorithm in ("CRC32", "CRC64NVME"):
            self._update, self.exact = binascii.crc32, algorithm == "CRC32"
        else:
            self._hash = hashlib.sha256(usedforsecurity=False)
            self.exact = algorithm == "SHA256"

    def update(self, data: Any) -> None:
        if self._hash is not None:
            self._hash.update(data)
        else:
            assert self._update is not None
            self._crc = self._update(data, self._crc)

    def digest(self) -> bytes:
        return self._hash.digest() if self._hash is not None else self._crc.to_bytes(self._width, "big")

    def b64(self) -> str:
        return base64.b64encode(self.digest()).decode()


def default_checksum_type(algorithm: str) -> str:
    """The checksum type of an upload created with `algorithm` and no type (S3's and moto's
    MultipartChecksumBuilder's default)."""
    return "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"


def digest_of(algorithm: str, value: str) -> bytes | None:
    """The digest a base64 checksum value carries, or None if it is not one of `algorithm`'s."""
    try:
        digest = binascii.a2b_base64(value.strip().encode(), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    return digest if len(digest) == CHECKSUMS[algorithm] else None


def s3_error(code: str, message: str) -> Exception:
    from moto.s3.exceptions import S3ClientError

    return S3ClientError(code, message)
