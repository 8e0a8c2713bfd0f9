"""Video bodies served by the simulated CDN: the committed sample MP4 or a synthetic one.

The synthetic body is a valid ISO-BMFF prefix (an ``ftyp`` box followed by an ``mdat`` box header whose
size covers the rest of the file) and a deterministic pseudo-random payload. The payload is generated in
independent 64 KiB blocks keyed by block index, so any byte range can be produced without generating the
prefix, and nothing is ever held whole in memory.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

SAMPLE_MP4_PATH = Path(__file__).resolve().parent.parent / "assets" / "sample.mp4"

CHUNK_SIZE = 64 * 1024
_BLOCK_SIZE = 64 * 1024
_BLOCK_KEY = b"aistudios-simulator/synthetic-mp4/v1/"
_FTYP = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 0x200, b"isom", b"mp41")
_MIN_SIZE = len(_FTYP) + 8
#: Fixed Last-Modified of synthetic bodies (2024-01-01T00:00:00Z): they never change.
_SYNTHETIC_MTIME = 1704067200.0


def _synthetic_header(size: int) -> bytes:
    """``ftyp`` box plus the ``mdat`` header (64-bit ``largesize`` form when it does not fit 32 bits)."""
    if size < _MIN_SIZE:
        raise ValueError(f"a synthetic video needs at least {_MIN_SIZE} bytes, got {size}")
    mdat_size = size - len(_FTYP)
    if mdat_size <= 0xFFFFFFFF:
        return _FTYP + struct.pack(">I4s", mdat_size, b"mdat")
    return _FTYP + struct.pack(">I4sQ", 1, b"mdat", mdat_size)


def _payload_block(index: int) -> bytes:
    """Deterministic 64 KiB payload block number ``index``."""
    return hashlib.shake_128(_BLOCK_KEY + index.to_bytes(8, "big")).digest(_BLOCK_SIZE)


def _clamp_range(size: int, offset: int, length: int | None) -> tuple[int, int]:
    """Validate ``offset``/``length`` against ``size`` and return the half-open ``[start, end)``."""
    if offset < 0 or offset > size:
        raise ValueError(f"offset {offset} outside 0..{size}")
    if length is not None and length < 0:
        raise ValueError("length must be >= 0")
    end = size if length is None else min(size, offset + length)
    return offset, end


def iter_synthetic_video(
    size: int, offset: int = 0, length: int | None = None, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """Yield bytes ``[offset, offset+length)`` of the synthetic video of ``size`` bytes, in chunks."""
    start, end = _clamp_range(size, offset, length)
    header = _synthetic_header(size)
    pos = start
    if pos < len(header) and pos < end:
        piece = header[pos : min(end, len(header))]
        pos += len(piece)
        yield piece
    while pos < end:
        relative = pos - len(header)
        index, inner = divmod(relative, _BLOCK_SIZE)
        take = min(end - pos, _BLOCK_SIZE - inner, chunk_size)
        yield _payload_block(index)[inner : inner + take]
        pos += take


def synthetic_video_bytes(size: int, offset: int = 0, length: int | None = None) -> bytes:
    """Bytes ``[offset, offset+length)`` of the deterministic synthetic MP4 of exactly ``size`` bytes.

    ``length=None`` means "to the end". The same ``(size, offset)`` always gives the same bytes, and
    ``synthetic_video_bytes(size)`` concatenates every range.
    """
    return b"".join(iter_synthetic_video(size, offset, length))


def synthetic_video_sha256(size: int) -> str:
    """Hex SHA-256 of the whole synthetic video of ``size`` bytes, computed streaming."""
    digest = hashlib.sha256()
    for chunk in iter_synthetic_video(size, chunk_size=1024 * 1024):
        digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class VideoSource:
    """What the CDN serves: size, validators and a ranged chunk reader."""

    size: int
    etag: str
    last_modified: str
    sample: bytes | None = None

    @classmethod
    def synthetic(cls, size: int) -> VideoSource:
        """A synthetic body of ``size`` bytes; its ETag derives from the size, not from hashing."""
        _synthetic_header(size)
        return cls(
            size=size,
            etag=f'"synthetic-v1-{size:x}"',
            last_modified=formatdate(_SYNTHETIC_MTIME, usegmt=True),
        )

    @classmethod
    def from_file(cls, path: Path = SAMPLE_MP4_PATH) -> VideoSource:
        """The committed sample MP4 (small, so it is read once and kept)."""
        data = path.read_bytes()
        return cls(
            size=len(data),
            etag=f'"{hashlib.sha256(data).hexdigest()[:32]}"',
            last_modified=formatdate(path.stat().st_mtime, usegmt=True),
            sample=data,
        )

    def iter_range(self, start: int, end: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the body bytes ``[start, end)`` in chunks of at most ``chunk_size``."""
        if self.sample is None:
            yield from iter_synthetic_video(self.size, start, end - start, chunk_size)
            return
        for pos in range(start, end, chunk_size):
            yield self.sample[pos : min(end, pos + chunk_size)]

    def sha256(self) -> str:
        """Hex SHA-256 of the whole body."""
        if self.sample is not None:
            return hashlib.sha256(self.sample).hexdigest()
        return synthetic_video_sha256(self.size)


class RangeNotSatisfiableError(ValueError):
    """The ``Range`` header selects no byte of the body (HTTP 416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Interpret a ``Range`` header against a body of ``size`` bytes.

    Returns ``None`` to serve the whole body (no header, a syntax the server may ignore, or several
    ranges) or ``(start, end)`` half-open for one satisfiable range; raises
    ``RangeNotSatisfiableError`` when the range is unsatisfiable.
    """
    if not header:
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiableError(header)
        return max(0, size - suffix), size
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiableError(header)
    end = size if last == "" else min(size, int(last) + 1)
    return start, end
