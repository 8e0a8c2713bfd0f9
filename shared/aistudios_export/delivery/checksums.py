"""A video's checksums: the SHA-256 the record keeps and the CRC32C S3 verifies, per part and for the
whole object. The whole object's CRC32C is combined from its parts' (S3's FULL_OBJECT checksum for a
multipart upload), so no byte is hashed twice for it."""

from __future__ import annotations

import base64
import functools
import hashlib

import crc32c


class ObjectDigest:
    """The whole object's SHA-256 (ours, for the record and notifications) and CRC32C (the
    full-object checksum S3 verifies on completion), fed the bytes in order."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._crc32c = 0

    def update(self, data: bytes | bytearray | memoryview, crc: int | None = None) -> None:
        """`crc`: the CRC32C of `data` when already known (a part's), combined rather than recomputed."""
        self._sha256.update(data)
        if crc is None:
            self._crc32c = crc32c.crc32c(data, self._crc32c)
        else:
            self._crc32c = crc32c_combine(self._crc32c, crc, len(data))

    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def crc32c(self) -> str:
        return crc32c_b64(self._crc32c)


def crc32c_b64(value: int) -> str:
    """A CRC32C as S3 writes it: four big-endian bytes, base64."""
    return base64.b64encode(value.to_bytes(4, "big")).decode()


def part_crc32c(data: bytes | bytearray) -> str:
    """A part's CRC32C, base64, as S3 expects it in ChecksumCRC32C."""
    return crc32c_b64(crc32c.crc32c(data))


def crc32c_combine(crc1: int, crc2: int, length2: int) -> int:
    """CRC32C of A+B from CRC32C(A), CRC32C(B) and len(B) (zlib's GF(2) method, Castagnoli
    polynomial): the full-object checksum from its parts'. The operator that appends len(B) zero
    bytes is kept per length (parts share one), so a combine is one 32x32 product."""
    return _gf2_times(_zeros_operator(length2), crc1) ^ crc2


@functools.lru_cache(maxsize=16)
def _zeros_operator(length: int) -> tuple[int, ...]:
    """The GF(2) matrix that appends `length` zero bytes to a CRC32C register."""
    result = [1 << n for n in range(32)]  # identity
    operator = [0x82F63B78] + [1 << n for n in range(31)]  # appends one zero bit
    for _ in range(3):
        operator = _gf2_square(operator)  # ... then 2, 4, 8 zero bits: one zero byte
    while length > 0:
        if length & 1:
            result = [_gf2_times(operator, row) for row in result]
        length >>= 1
        if length:
            operator = _gf2_square(operator)
    return tuple(result)


def _gf2_times(matrix: list[int] | tuple[int, ...], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]
