"""Video bodies served by the simulated CDN: the committed sample MP4 or a synthetic one.

The synthetic body is a valid ISO-BMFF prefix (an ``ftyp`` box followed by an ``mdat`` box header whose
size covers the rest of the file) and a deterministic pseudo-random payload. The payload is generated in
independent 64 KiB blocks keyed by block index, so any byte range can be produced without generating the
prefix, and nothing is ever held whole in memory.

Per-render bodies (``SimulatorConfig.distinct_videos``) carry the render's identity in a top-level
``free`` box at the very end of the file (``identity_box``): appended after the sample MP4 (which stays
playable: players skip ``free`` boxes), or ending a synthetic body of unchanged size (its ``mdat`` is
shortened by the box's length). The file still starts with the ``ftyp`` box.
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


def identity_box(text: str) -> bytes:
    """A top-level ISO-BMFF ``free`` box whose payload is ``text`` (UTF-8)."""
    payload = text.encode()
    return struct.pack(">I4s", 8 + len(payload), b"free") + payload


def render_identity_box(backend_task_id: str, export_token: str) -> bytes:
    """The ``free`` box that names one render (fixed length for the simulator's ids)."""
    return identity_box(
        f"aistudios-simulator render backendTaskId={backend_task_id} exportToken={export_token}"
    )


#: Length of ``render_identity_box`` (backend task ids and export tokens are 24 characters each).
RENDER_IDENTITY_BOX_SIZE = len(render_identity_box("0" * 24, "0" * 24))
#: Smallest synthetic ``video_size`` that can carry a render's identity box.
MIN_DISTINCT_SYNTHETIC_SIZE = _MIN_SIZE + RENDER_IDENTITY_BOX_SIZE


def _synthetic_header(size: int, trailer_size: int = 0) -> bytes:
    """``ftyp`` box plus the ``mdat`` header (64-bit ``largesize`` form when it does not fit 32 bits).

    The ``mdat`` covers everything up to the last ``trailer_size`` bytes (kept for a trailing box).
    """
    if size < _MIN_SIZE + trailer_size:
        raise ValueError(f"a synthetic video needs at least {_MIN_SIZE + trailer_size} bytes, got {size}")
    mdat_size = size - len(_FTYP) - trailer_size
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
    size: int,
    offset: int = 0,
    length: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    trailer: bytes = b"",
) -> Iterator[bytes]:
    """Yield bytes ``[offset, offset+length)`` of the synthetic video of ``size`` bytes, in chunks.

    A non-empty ``trailer`` (a whole box, e.g. ``render_identity_box``) forms the last bytes of the body.
    """
    start, end = _clamp_range(size, offset, length)
    header = _synthetic_header(size, len(trailer))
    payload_end = size - len(trailer)
    pos = start
    if pos < len(header) and pos < end:
        piece = header[pos : min(end, len(header))]
        pos += len(piece)
        yield piece
    while pos < min(end, payload_end):
        relative = pos - len(header)
        index, inner = divmod(relative, _BLOCK_SIZE)
        take = min(min(end, payload_end) - pos, _BLOCK_SIZE - inner, chunk_size)
        yield _payload_block(index)[inner : inner + take]
        pos += take
    if pos < end:
        yield trailer[pos - payload_end : end - payload_end]


def synthetic_video_bytes(
    size: int, offset: int = 0, length: int | None = None, trailer: bytes = b""
) -> bytes:
    """Bytes ``[offset, offset+length)`` of the deterministic synthetic MP4 of exactly ``size`` bytes.

    ``length=None`` means "to the end". The same ``(size, offset, trailer)`` always gives the same bytes,
    and ``synthetic_video_bytes(size)`` concatenates every range.
    """
    return b"".join(iter_synthetic_video(size, offset, length, trailer=trailer))


def synthetic_video_sha256(size: int, trailer: bytes = b"") -> str:
    """Hex SHA-256 of the whole synthetic video of ``size`` bytes, computed streaming."""
    digest = hashlib.sha256()
    for chunk in iter_synthetic_video(size, chunk_size=1024 * 1024, trailer=trailer):
        digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class VideoSource:
    """What the CDN serves: size, validators and a ranged chunk reader.

    ``sample`` holds the whole body of a file-backed video; otherwise the body is synthetic, of ``size``
    bytes, ending with ``trailer``.
    """

    size: int
    etag: str
    last_modified: str
    sample: bytes | None = None
    trailer: bytes = b""

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

    def with_identity(self, box: bytes, modified: float) -> VideoSource:
        """This video made unique by the top-level box ``box`` at its end, last modified at ``modified``.

        The sample gets the box appended (its size grows by ``len(box)``); a synthetic body keeps its size
        and ends with the box instead of payload. The ETag changes with the box.
        """
        last_modified = formatdate(modified, usegmt=True)
        if self.sample is not None:
            data = self.sample + box
            etag = f'"{hashlib.sha256(data).hexdigest()[:32]}"'
            return VideoSource(size=len(data), etag=etag, last_modified=last_modified, sample=data)
        if self.trailer:
            raise ValueError("this video already carries an identity")
        _synthetic_header(self.size, len(box))
        etag = f'"synthetic-v1-{self.size:x}-{hashlib.sha256(box).hexdigest()[:16]}"'
        return VideoSource(size=self.size, etag=etag, last_modified=last_modified, trailer=box)

    def iter_range(self, start: int, end: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the body bytes ``[start, end)`` in chunks of at most ``chunk_size``."""
        if self.sample is None:
            yield from iter_synthetic_video(self.size, start, end - start, chunk_size, self.trailer)
            return
        for pos in range(start, end, chunk_size):
            yield self.sample[pos : min(end, pos + chunk_size)]

    def read(self, offset: int = 0, length: int | None = None) -> bytes:
        """Body bytes ``[offset, offset+length)`` (``length=None``: to the end), held in memory."""
        start, end = _clamp_range(self.size, offset, length)
        return b"".join(self.iter_range(start, end))

    def sha256(self) -> str:
        """Hex SHA-256 of the whole body."""
        if self.sample is not None:
            return hashlib.sha256(self.sample).hexdigest()
        return synthetic_video_sha256(self.size, self.trailer)


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
